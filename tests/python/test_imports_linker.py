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


# Declared imports through the Linker (cdef=): the same C++ plan as imports= with cdef=.

DECL_APP = r"""(module
  (import "env" "log" (func $log (param i32 i32) (result i32)))
  (import "env" "tag" (func $tag (param i32) (result i32)))
  (import "env" "clamp" (func $clamp (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\00")
  (func (export "go") (param i32) (result i32)
    i32.const 16 local.get 0 call $log
    i32.const 16 call $tag i32.add)
  (func (export "go_clamp") (param i32) (result i32) local.get 0 call $clamp)
  (func (export "add3") (param i32) (result i32) local.get 0 i32.const 3 i32.add))"""

DECL = """
    int32_t log(const uint8_t *msg, size_t len);
    int32_t tag(const char *name);
    uint8_t clamp(int8_t v);
"""


def test_linker_cdef_declares_the_host_functions():
    seen = []
    linker = wasmffi.Linker(cdef=DECL)
    linker.define("env", "log", lambda msg: seen.append(msg) or len(msg))
    linker.define("env", "tag", lambda name: seen.append(name) or 100)
    linker.define("env", "clamp", lambda v: seen.append(v) or v & 0xFF)
    app = linker.instantiate(wasmffi.Module(DECL_APP))
    assert app.exports.go(3) == 103
    assert seen == [b"hel", "hello"]
    assert app.exports.go_clamp(-1) == 255  # int8_t -1 arrives; 255 goes back as uint8_t
    assert seen[-1] == -1


def test_linker_cdef_checks_results_and_reads_the_callers_memory():
    linker = wasmffi.Linker(cdef=DECL)
    linker.define("env", "log", lambda msg: len(msg))
    linker.define("env", "tag", lambda name: 0)
    linker.define("env", "clamp", lambda v: v)
    app = linker.instantiate(wasmffi.Module(DECL_APP))
    with pytest.raises(OverflowError, match=r"env\.clamp.*returned -128, out of range for uint8_t \(0\.\.255\)"):
        app.exports.go_clamp(0x80)  # int8_t -128 arrives, and is no uint8_t
    assert app.exports.go_clamp(0x17F) == 127
    with pytest.raises(wasmffi.MemoryAccessError, match=r"env\.log.*parameter 'msg'.*out of bounds"):
        app.exports.go(65530)


def test_linker_with_caller_and_declared_import():
    got = []
    linker = wasmffi.Linker(cdef=DECL)
    linker.define("env", "log", wasmffi.with_caller(lambda caller, msg: got.append((caller.memory.read(16, 1), msg))
                                                     or 0))
    linker.define("env", "tag", lambda name: 0)
    linker.define("env", "clamp", lambda v: 0)
    app = linker.instantiate(wasmffi.Module(DECL_APP))
    app.exports.go(2)
    assert got == [(b"h", b"he")]


def test_linker_instantiate_cdef_binds_exports_and_comes_first_for_imports():
    seen = []
    linker = wasmffi.Linker(cdef="int32_t tag(int32_t name);" + DECL.replace("int32_t tag(const char *name);", ""))
    linker.define("env", "log", lambda msg: len(msg))
    linker.define("env", "tag", lambda name: seen.append(name) or 0)
    linker.define("env", "clamp", lambda v: 0)
    app = linker.instantiate(wasmffi.Module(DECL_APP), cdef=DECL + "int8_t add3(int8_t v);")
    assert app.exports.go(1) == 1
    assert seen == ["hello"]  # the instance's declaration (const char *) came first
    assert app.exports.add3(124) == 127  # a declared export: a CFunc
    with pytest.raises(OverflowError, match="add3"):
        app.exports.add3(128)
    assert app.raw_exports.add3(125) == 128
    # A second instance without cdef= gets the Linker's declarations only: tag takes an int32_t.
    other = linker.instantiate(wasmffi.Module(DECL_APP))
    other.exports.go(1)
    assert seen == ["hello", 16]


def test_linker_cdef_mismatch_is_refused():
    linker = wasmffi.Linker(cdef="int32_t tag(int64_t name);")
    linker.define("env", "tag", lambda name: 0)
    linker.define("env", "log", lambda m, n: 0)
    linker.define("env", "clamp", lambda v: 0)
    with pytest.raises(wasmffi.CDefError, match=r"import `env\.tag` is"):
        linker.instantiate(wasmffi.Module(DECL_APP))


def test_linker_cdef_must_be_declarations():
    with pytest.raises(TypeError, match="cdef must be C declarations"):
        wasmffi.Linker(cdef=42)


def test_a_re_exported_declared_import_reads_the_calling_instances_memory():
    # lib declares `say` and re-exports it; app calls it with an address in app's own memory.
    seen = []
    linker = wasmffi.Linker(cdef="int32_t say(const char *msg);")
    linker.define("env", "say", lambda msg: seen.append(msg) or len(msg))
    lib = linker.instantiate(wasmffi.Module(r"""(module
      (import "env" "say" (func $say (param i32) (result i32)))
      (export "say" (func $say))
      (memory (export "memory") 1)
      (data (i32.const 16) "from lib\00")
      (func (export "lib_go") (result i32) i32.const 16 call $say))"""))
    linker.define_instance("lib", lib)
    app = linker.instantiate(wasmffi.Module(r"""(module
      (import "lib" "say" (func $say (param i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "from app\00")
      (func (export "app_go") (result i32) i32.const 16 call $say))"""))
    assert app.exports.app_go() == 8
    assert lib.exports.lib_go() == 8
    assert app.exports.app_go() == 8
    assert seen == ["from app", "from lib", "from app"]
