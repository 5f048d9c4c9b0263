"""Tests the process-wide default engine: one per process, settable, shared by threads and modules."""

import concurrent.futures
import threading

import pytest

import wasmffi
from wasmffi import _engines

ADD_WAT = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'


@pytest.fixture
def restore_default():
    saved = _engines._default_engine
    yield
    _engines._default_engine = saved


def test_racing_threads_get_one_default_engine(restore_default):
    _engines._default_engine = None
    barrier = threading.Barrier(8)

    def get():
        barrier.wait()
        return wasmffi.default_engine()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        engines = list(pool.map(lambda _: get(), range(8)))
    assert all(e is engines[0] for e in engines)


def test_set_default_engine_is_used_by_new_modules_only(restore_default):
    before = wasmffi.Module(ADD_WAT)
    fuel = wasmffi.Engine(consume_fuel=True)
    wasmffi.set_default_engine(fuel)
    assert wasmffi.default_engine() is fuel
    assert wasmffi.Module(ADD_WAT).engine is fuel
    assert wasmffi.load(ADD_WAT).module.engine is fuel
    assert before.engine is not fuel


def test_set_default_engine_rejects_other_types(restore_default):
    with pytest.raises(TypeError, match="set_default_engine\\(\\) argument 'engine' must be a wasmffi.Engine, not dict"):
        wasmffi.set_default_engine({"consume_fuel": True})
    with pytest.raises(TypeError, match="not NoneType"):
        wasmffi.set_default_engine(None)


def test_one_module_is_shared_by_threads():
    module = wasmffi.Module(ADD_WAT)

    def work(i):
        return module.instantiate().exports.add(i, i)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(work, range(32))) == [2 * i for i in range(32)]
