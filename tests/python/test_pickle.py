"""Tests pickling Module and InstanceFactory: verified artifacts, recompiling foreign ones, process pools."""

import concurrent.futures
import multiprocessing
import os
import pickle

import pytest

import _procs
import wasmffi
from wasmffi import _cache
from wasmffi._api import _unpickle_module


def add_module(**kw) -> wasmffi.Module:
    return wasmffi.Module(_procs.ADD_WAT, **kw)


# ---------------------------------------------------------------------------------------------
# In one process
# ---------------------------------------------------------------------------------------------


def test_module_round_trip_loads_the_verified_artifact(cache):
    m = add_module()
    data = pickle.dumps(m)
    _cache.reset()
    back = pickle.loads(data)
    assert back is not m
    assert back.instantiate().exports.add(40, 2) == 42
    assert back.exports == m.exports and back.imports == m.imports
    assert _cache.stats["unpickle_verified"] == 1 and _cache.stats["unpickle_compiled"] == 0


def test_pickle_keeps_name_and_binary_source(cache, tmp_path):
    import wasmtime

    path = tmp_path / "add.wasm"
    path.write_bytes(wasmtime.wat2wasm(_procs.ADD_WAT))
    back = pickle.loads(pickle.dumps(wasmffi.Module(path)))
    assert repr(back) == "<wasmffi.Module add.wasm: 1 export, 0 imports>"
    assert back.instantiate().exports.add(1, 2) == 3


def test_unpickling_twice_reuses_the_live_module(cache):
    data = pickle.dumps(add_module())
    a = pickle.loads(data)
    b = pickle.loads(data)
    assert a is b
    assert _cache.stats["unpickle_verified"] == 1


def test_default_engine_module_unpickles_onto_the_default_engine(cache):
    back = pickle.loads(pickle.dumps(add_module()))
    assert back.engine is wasmffi.default_engine()


def test_other_engine_settings_travel_with_the_module(cache):
    fuel = wasmffi.Engine(consume_fuel=True, opt_level=2)
    back = pickle.loads(pickle.dumps(add_module(engine=fuel)))
    assert back.engine is not wasmffi.default_engine()
    assert (back.engine.consume_fuel, back.engine.opt_level) == (True, 2)
    assert repr(back.engine) == repr(fuel)
    assert _cache.stats["unpickle_verified"] == 1  # the artifact's engine settings match
    again = pickle.loads(pickle.dumps(wasmffi.Module(_procs.TWICE_WAT, engine=fuel)))
    assert again.engine is back.engine  # one local engine per distinct setting


def _reduced(m):
    fn, args = m.__reduce__()
    assert fn is _unpickle_module
    return list(args)


def test_tampered_artifact_in_a_pickle_is_recompiled_not_loaded(cache):
    args = _reduced(add_module())
    artifact = bytearray(args[5])
    artifact[len(artifact) // 2] ^= 0x40
    args[5] = bytes(artifact)
    m = _unpickle_module(*args)
    assert m.instantiate().exports.add(2, 3) == 5
    assert _cache.stats["unpickle_compiled"] == 1 and _cache.stats["unpickle_verified"] == 0


def test_artifact_swapped_for_another_modules_is_recompiled(cache):
    # A genuine artifact with a genuine MAC, but for different bytes than the pickle's source.
    add_args = _reduced(add_module())
    sub = wasmffi.Module(_procs.ADD_WAT.replace("add", "sub"))
    sub_args = _reduced(sub)
    add_args[5], add_args[6] = sub_args[5], sub_args[6]
    m = _unpickle_module(*add_args)
    assert [e.name for e in m.exports] == ["add"]
    assert _cache.stats["unpickle_compiled"] == 1


def test_pickle_from_another_key_is_recompiled(cache, tmp_path, monkeypatch):
    # Another machine (or user) signed it: its artifact is never deserialized here.
    monkeypatch.setenv("WASMFFI_CACHE_DIR", str(tmp_path / "elsewhere"))
    _cache.reset()
    data = pickle.dumps(add_module())
    monkeypatch.setenv("WASMFFI_CACHE_DIR", str(cache))
    _cache.reset()
    back = pickle.loads(data)
    assert back.instantiate().exports.add(40, 2) == 42
    assert _cache.stats["unpickle_compiled"] == 1 and _cache.stats["unpickle_verified"] == 0


def test_pickle_without_artifact_compiles(cache):
    args = _reduced(add_module())
    args[5] = args[6] = None
    assert _unpickle_module(*args).instantiate().exports.add(1, 1) == 2
    assert _cache.stats["unpickle_compiled"] == 1


def test_unknown_pickle_version_is_a_clear_error(cache):
    args = _reduced(add_module())
    args[0] = 99
    with pytest.raises(ValueError, match="unknown format version 99"):
        _unpickle_module(*args)


# ---------------------------------------------------------------------------------------------
# InstanceFactory
# ---------------------------------------------------------------------------------------------


def test_factory_makes_fresh_instances_with_its_kwargs(cache):
    f = wasmffi.Module(_procs.TWICE_WAT).factory(imports={"env": {"twice": _procs.twice}})
    assert isinstance(f, wasmffi.InstanceFactory)
    a, b = f(), f()
    assert a is not b
    assert a.exports.quad(5) == 20
    back = pickle.loads(pickle.dumps(f))
    assert back().exports.quad(3) == 12
    assert back.kwargs == {"imports": {"env": {"twice": _procs.twice}}}


def test_factory_with_a_lambda_import_names_it_when_pickled(cache):
    f = wasmffi.Module(_procs.TWICE_WAT).factory(imports={"env": {"twice": lambda x: 2 * x}})
    assert f().exports.quad(1) == 4  # usable in this process
    with pytest.raises(pickle.PicklingError, match=r"imports\['env'\]\['twice'\] is not picklable.*module-level"):
        pickle.dumps(f)


def test_factory_rejects_unknown_keywords_at_once(cache):
    with pytest.raises(TypeError, match="Module.factory\\(\\).*'bogus'"):
        add_module().factory(bogus=1)


def test_factory_rejects_a_non_module(cache):
    with pytest.raises(TypeError, match="argument 'module' must be a wasmffi.Module, not str"):
        wasmffi.InstanceFactory("add.wasm")


# ---------------------------------------------------------------------------------------------
# Process pools
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_pool_runs_shipped_module_and_factory(cache, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} on this platform")
    m = add_module()
    f = wasmffi.Module(_procs.TWICE_WAT).factory(imports={"env": {"twice": _procs.twice}})
    ctx = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        adds = list(pool.map(_procs.call_add, [m] * 6, range(6), [100] * 6))
        quads = list(pool.map(_procs.call_quad, [f] * 4, range(4)))
    assert [r for r, _, _ in adds] == [100 + i for i in range(6)]
    assert all(pid != os.getpid() for _, pid, _ in adds)
    # Same user, same cache dir: the workers verified and loaded the artifact, never compiled.
    for _, _, stats in adds:
        assert stats["unpickle_verified"] >= 1 and stats["unpickle_compiled"] == 0
    assert [q for q, _ in quads] == [4 * i for i in range(4)]


def test_forked_worker_can_still_compile(cache):
    # The parent's compiler thread pool does not survive fork; compiling in the child must not hang.
    wasmffi.Module(_procs.ADD_WAT)  # starts the parent's compile threads
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        fut = pool.submit(_procs.compile_in_worker, _procs.ADD_WAT.replace("(module", "(module (memory 1)"))
        assert fut.result(timeout=60) == 42


def test_multiprocessing_pool_with_spawn(cache):
    m = add_module(engine=wasmffi.Engine(consume_fuel=True))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.starmap(_procs.engine_settings, [(m,)] * 2) == [(True, 1)] * 2
