"""wasmffi.Linker: imports by module and name, instance-to-instance linking, unresolved imports."""

import pytest

import wasmffi

LIB = """(module
  (memory (export "memory") 1)
  (global (export "counter") (mut i32) (i32.const 5))
  (table (export "table") 2 funcref)
  (func $seven (result i32) i32.const 7)
  (elem (i32.const 1) $seven)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "double") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))"""

APP = """(module
  (import "lib" "memory" (memory 1))
  (import "lib" "counter" (global $counter (mut i32)))
  (import "lib" "table" (table 2 funcref))
  (import "lib" "double" (func $double (param i32) (result i32)))
  (import "host" "add" (func $add (param i32 i32) (result i32)))
  (type $r (func (result i32)))
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "bump") (result i32) global.get $counter i32.const 1 i32.add global.set $counter global.get $counter)
  (func (export "via_table") (result i32) i32.const 1 call_indirect (type $r))
  (func (export "calc") (param i32) (result i32) local.get 0 call $double i32.const 1 call $add))"""


def linked():
    linker = wasmffi.Linker()
    lib = linker.instantiate(wasmffi.Module(LIB))
    linker.define_instance("lib", lib)
    linker.define("host", "add", lambda a, b: a + b)
    app = linker.instantiate(wasmffi.Module(APP))
    return lib, app


def test_one_instance_exports_satisfy_another_instances_imports():
    lib, app = linked()
    lib.exports.store(64, 1234)
    assert app.exports.load(64) == 1234          # shared memory
    assert app.exports.bump() == 6               # shared mutable global
    assert lib.exports.counter.value == 6
    assert app.exports.via_table() == 7          # shared table
    assert app.exports.calc(20) == 41            # lib function and a Python host function


def test_unresolved_imports_are_all_listed_with_their_types():
    linker = wasmffi.Linker()
    with pytest.raises(wasmffi.LinkError) as ei:
        linker.instantiate(wasmffi.Module(APP))
    msg = str(ei.value)
    assert "5 import(s) unresolved" in msg
    for line in ("lib.memory: memory", "lib.counter: global", "lib.table: table", "lib.double: func (i32) -> i32",
                 "host.add: func (i32, i32) -> i32"):
        assert line in msg


def test_trapping_stubs_on_request_raise_only_when_called():
    wat = """(module (import "env" "missing" (func $m (param i32)))
      (func (export "ok") (result i32) i32.const 1)
      (func (export "bad") i32.const 0 call $m))"""
    inst = wasmffi.Linker().instantiate(wasmffi.Module(wat), trap_unresolved=True)
    assert inst.exports.ok() == 1
    with pytest.raises(wasmffi.LinkError, match=r"unresolved import env.missing .* was called"):
        inst.exports.bad()


def test_trapping_stubs_do_not_cover_memories():
    wat = '(module (import "env" "mem" (memory 1)))'
    with pytest.raises(wasmffi.LinkError, match="env.mem: memory"):
        wasmffi.Linker().instantiate(wasmffi.Module(wat), trap_unresolved=True)


def test_an_export_of_the_wrong_type_is_a_link_error():
    linker = wasmffi.Linker()
    lib = linker.instantiate(wasmffi.Module(LIB))
    linker.define_instance("lib", lib)
    wat = '(module (import "lib" "double" (func (param i64) (result i64))))'
    with pytest.raises(wasmffi.LinkError):
        linker.instantiate(wasmffi.Module(wat))


def test_instances_from_elsewhere_cannot_be_linked():
    other = wasmffi.load(LIB)
    linker = wasmffi.Linker()
    linker.instantiate(wasmffi.Module(LIB))
    with pytest.raises(ValueError, match="not made by this Linker"):
        linker.define_instance("lib", other)
    with pytest.raises(ValueError, match="already defined"):
        linker.define("x", "f", len) or linker.define("x", "f", len)
    with pytest.raises(TypeError, match="must be callable"):
        linker.define("x", "g", 5)


def test_linked_instances_keep_their_store_alive():
    lib, app = linked()
    calc = app.exports.calc
    del lib, app
    import gc
    gc.collect()
    assert calc(1) == 3
