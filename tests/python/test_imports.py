"""Resolving the imports of an instantiation (python/wasmffi/_imports.py): the mapping's shape,
what each import needs, and one LinkError listing everything missing. Calling the host functions
is tested in test_host.py."""

import pytest

import wasmffi

WAT = """
(module
  (import "env" "i32" (func (param i32) (result i32)))
  (import "env" "i64" (func (param i64) (result i64)))
  (import "env" "f32" (func (param f32) (result f32)))
  (import "env" "f64" (func $f64 (param f64) (result f64)))
  (func (export "i32") (param i32) (result i32) local.get 0 call 0)
  (func (export "f64") (param f64) (result f64) local.get 0 call $f64))
"""


def test_missing_imports_are_all_listed_with_their_types():
    with pytest.raises(wasmffi.LinkError) as ei:
        wasmffi.load(WAT, {"env": {"i32": lambda x: x}})
    msg = str(ei.value)
    assert "3 import(s) unresolved" in msg
    assert "env.i64: func (i64) -> i64" in msg and "env.f32: func (f32) -> f32" in msg
    assert "env.f64: func (f64) -> f64" in msg and "env.i32:" not in msg
    with pytest.raises(wasmffi.LinkError, match="4 import"):
        wasmffi.load(WAT)


@pytest.mark.parametrize("imports,exc,words", [
    ({"env": {"i32": 5}}, TypeError, "'env.i32' is a function .* must be callable, not int"),
    ({"env": 5}, TypeError, r"imports\['env'\] must be a mapping"),
    ([1], TypeError, "imports must be a mapping"),
])
def test_bad_import_values_are_refused_by_name(imports, exc, words):
    with pytest.raises(exc, match=words):
        wasmffi.load(WAT, imports)


def test_any_mapping_serves_for_imports_and_their_groups():
    # Plain dicts take a fast path; other Mapping types go through the ABC check.
    from types import MappingProxyType
    group = MappingProxyType({name: (lambda x: x + 1) for name in ("i32", "i64", "f32", "f64")})
    inst = wasmffi.load(WAT, MappingProxyType({"env": group}))
    assert inst.exports.i32(1) == 2 and inst.exports.f64(0.5) == 1.5
    with pytest.raises(TypeError, match=r"imports\['env'\] must be a mapping \{name: value\}, not list"):
        wasmffi.load(WAT, MappingProxyType({"env": []}))


def test_non_function_imports_are_refused_clearly():
    wat = '(module (import "env" "mem" (memory 1)))'
    with pytest.raises(TypeError, match="'env.mem' is a memory"):
        wasmffi.load(wat, {"env": {"mem": object()}})
    with pytest.raises(wasmffi.LinkError, match="env.mem: memory"):
        wasmffi.load(wat)
