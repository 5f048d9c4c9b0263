"""Functions the process-pool and Dask tests run in worker processes (importable, so 'spawn' works)."""

import os

import wasmffi
from wasmffi import _cache

ADD_WAT = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'

# A module with a host import: the worker's instance calls back into twice() below.
TWICE_WAT = """(module
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (func (export "quad") (param i32) (result i32) local.get 0 call $twice call $twice))"""


def twice(x: int) -> int:
    return 2 * x


def call_add(module: wasmffi.Module, a: int, b: int) -> tuple[int, int, dict]:
    """(result, pid, the worker's cache counters): the tests check where and how it ran."""
    return module.instantiate().exports.add(a, b), os.getpid(), dict(_cache.stats)


def call_quad(factory: wasmffi.InstanceFactory, x: int) -> tuple[int, int]:
    return factory().exports.quad(x), os.getpid()


def compile_in_worker(wat: str) -> int:
    """Compiles a new module in the worker (no artifact shipped) and calls it."""
    return wasmffi.Module(wat).instantiate().exports.add(20, 22)


def engine_settings(module: wasmffi.Module) -> tuple[bool, int]:
    return module.engine.consume_fuel, module.engine.opt_level
