"""Tests of Instance.exports (the wasmffi.Exports C type): lookup, caching, odd names, errors, speed."""

import sys

import pytest

import wasmffi

ADD = '(func (export "{name}") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)'


def _many(n: int) -> wasmffi.Instance:
    """An instance of a module exporting one function under n names e0 .. e{n-1}."""
    exports = " ".join(f'(export "e{i}" (func $f))' for i in range(n))
    return wasmffi.load(f"(module (func $f (result i32) i32.const 7) {exports})")


def _named(*names: str) -> wasmffi.Instance:
    """An instance whose exports are i32 constant functions under the given names (1, 2, ...)."""
    body = " ".join(f'(func (export "{n}") (result i32) i32.const {i + 1})' for i, n in enumerate(names))
    return wasmffi.load(f"(module {body})")


# ---------------------------------------------------------------------------------------------
# The cost of `inst.exports.NAME`: one lookup, no Python code
# ---------------------------------------------------------------------------------------------


def _python_calls_during(fn) -> list:
    """Python-level functions entered while `fn` runs (C functions are not counted)."""
    seen = []

    def profiler(frame, event, arg):
        if event == "call":
            seen.append(frame.f_code.co_name)

    sys.setprofile(profiler)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return [name for name in seen if name != "<lambda>"]


def test_repeated_export_attribute_access_runs_no_python_code():
    inst = wasmffi.load('(module ' + ADD.format(name="add") + ')')
    inst.exports.add  # first access resolves and caches
    assert _python_calls_during(lambda: inst.exports.add(1, 2)) == []
    assert _python_calls_during(lambda: inst.exports["add"](1, 2)) == []


def test_first_access_of_a_name_also_runs_no_python_code():
    inst = _named("a", "b")
    assert _python_calls_during(lambda: (inst.exports.a, inst.exports["b"])) == []


def test_exports_type_is_the_extension_type_and_not_instantiable():
    inst = _named("a")
    assert type(inst.exports) is wasmffi.Exports
    assert wasmffi.Exports.__module__ == "wasmffi"
    with pytest.raises(TypeError):
        wasmffi.Exports()


# ---------------------------------------------------------------------------------------------
# Identity and caching
# ---------------------------------------------------------------------------------------------


def test_attribute_and_item_give_the_same_object_whichever_comes_first():
    inst = _named("a", "b")
    item_first = inst.exports["a"]
    assert inst.exports.a is item_first
    attr_first = inst.exports.b
    assert inst.exports["b"] is attr_first
    assert inst.exports.a() == 1 and inst.exports.b() == 2


def test_each_instance_has_its_own_export_objects():
    module = wasmffi.Module('(module (global (export "g") (mut i32) (i32.const 1)))')
    a, b = module.instantiate(), module.instantiate()
    assert a.exports.g is not b.exports.g
    a.exports.g.value = 5
    assert (a.exports.g.value, b.exports.g.value) == (5, 1)


def test_an_export_that_cannot_be_used_raises_every_time_and_is_not_cached():
    ex = wasmffi.load('(module (table (export "tab") 1 funcref))').exports
    for _ in range(2):
        with pytest.raises(TypeError, match="'tab' is a table"):
            ex.tab
        with pytest.raises(TypeError, match="'tab' is a table"):
            ex["tab"]
    assert "tab" in ex and list(ex) == ["tab"]


# ---------------------------------------------------------------------------------------------
# Names that collide with Python's or the implementation's
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["_inst", "_cache", "_names", "_i", "keys", "get", "items", "values", "exports"])
def test_export_names_like_internal_or_mapping_attributes_are_reachable_as_attributes(name):
    inst = _named(name, "other")
    assert getattr(inst.exports, name)() == 1
    assert inst.exports[name]() == 1
    assert inst.exports.other() == 2


def test_dunder_export_names_are_reachable_with_brackets_only():
    inst = _named("__init__", "__len__", "__custom__", "plain")
    ex = inst.exports
    assert ex["__init__"]() == 1 and ex["__custom__"]() == 3
    assert len(ex) == 4  # __len__ is Python's, not the export
    with pytest.raises(AttributeError, match=r"'__custom__' is an export.*exports\['__custom__'\]"):
        ex.__custom__
    assert "__custom__" in ex and "__custom__" not in dir(ex)


def test_names_starting_with_two_underscores_but_not_dunders_are_attributes():
    # clang's wasm-ld exports globals such as __heap_base and __data_end this way.
    inst = wasmffi.load('(module (global (export "__heap_base") i32 (i32.const 66560)))')
    assert inst.exports.__heap_base.value == 66560
    assert "__heap_base" in dir(inst.exports)


def test_names_that_are_not_identifiers_are_reachable_with_brackets():
    names = ["with space", "dash-ed", "", "1st", "ünïcode", "a.b"]
    inst = _named(*names)
    for i, name in enumerate(names):
        assert inst.exports[name]() == i + 1
        assert name in inst.exports
    assert list(inst.exports) == names
    assert getattr(inst.exports, "dash-ed")() == 2  # getattr with any str works too
    assert dir(inst.exports) == ["ünïcode"]  # only identifiers are offered for completion


def test_python_protocol_attributes_still_work():
    ex = _named("a").exports
    assert ex.__class__ is wasmffi.Exports
    assert not hasattr(ex, "__array_interface__")
    assert "Exports" in ex.__doc__ or "exports" in ex.__doc__


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_unknown_attribute_lists_a_few_exports_not_thousands():
    ex = _many(3000).exports
    with pytest.raises(AttributeError) as info:
        ex.nope
    msg = str(info.value)
    assert "'nope'" in msg and "3000 exports" in msg
    assert "e0, e1" in msg and "(2990 more)" in msg
    assert len(msg) < 200
    with pytest.raises(KeyError) as info:
        ex["nope"]
    assert "(2990 more)" in info.value.args[0] and len(info.value.args[0]) < 200


def test_unknown_name_on_small_module_lists_every_export():
    with pytest.raises(AttributeError, match=r"no export named 'c'; the module's 2 exports are: a, b$"):
        _named("a", "b").exports.c


def test_exports_cannot_be_set_or_deleted():
    ex = _named("a").exports
    with pytest.raises(AttributeError, match="read-only"):
        ex.a = 1
    with pytest.raises(AttributeError, match="read-only"):
        del ex.a
    with pytest.raises(TypeError, match="read-only"):
        ex["a"] = 1
    with pytest.raises(TypeError, match="read-only"):
        del ex["a"]
    assert ex.a() == 1


@pytest.mark.parametrize("key", [0, None, b"a", ("a",)], ids=["int", "None", "bytes", "tuple"])
def test_non_str_keys_raise_type_error_naming_the_type(key):
    with pytest.raises(TypeError, match=f"export names are str, not {type(key).__name__}"):
        _named("a").exports[key]


def test_membership_of_non_str_is_false_even_when_unhashable():
    ex = _named("a").exports
    assert 0 not in ex and b"a" not in ex and ["a"] not in ex


# ---------------------------------------------------------------------------------------------
# Mapping-like behaviour on large modules
# ---------------------------------------------------------------------------------------------


def test_large_module_lists_names_in_module_order_and_each_works():
    n = 4000
    inst = _many(n)
    ex = inst.exports
    assert len(ex) == n
    assert list(ex) == [f"e{i}" for i in range(n)] == [e.name for e in inst.module.exports]
    assert all(f"e{i}" in ex for i in range(0, n, 97))
    assert ex.e3999() == 7 and ex["e0"]() == 7
    assert len(dir(ex)) == n


def test_repr_shows_at_most_ten_names():
    assert repr(_named("a", "b").exports) == "<wasmffi.Exports a, b>"
    assert repr(_many(25).exports) == "<wasmffi.Exports e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, ... (15 more)>"
    assert repr(wasmffi.load("(module)").exports) == "<wasmffi.Exports (none)>"


# ---------------------------------------------------------------------------------------------
# Instance and Module attributes are read-only
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("attr", ["exports", "module", "memory"])
def test_instance_attributes_are_read_only(attr):
    inst = wasmffi.load('(module (memory (export "memory") 1))')
    before = getattr(inst, attr)
    with pytest.raises(AttributeError, match=f"Instance.{attr} is read-only"):
        setattr(inst, attr, 5)
    with pytest.raises(AttributeError, match="cannot be deleted"):
        delattr(inst, attr)
    assert getattr(inst, attr) is before


def test_instance_takes_no_new_attributes():
    inst = _named("a")
    with pytest.raises(AttributeError, match="no attribute 'extra'"):
        inst.extra = 1


def test_instance_fuel_stays_settable():
    inst = wasmffi.load("(module)", engine=wasmffi.Engine(consume_fuel=True))
    inst.fuel = 1234
    assert inst.fuel == 1234


@pytest.mark.parametrize("attr", ["engine", "exports", "imports", "_m"])
def test_module_attributes_are_read_only(attr):
    module = wasmffi.Module("(module)")
    before = getattr(module, attr)
    with pytest.raises(AttributeError, match=f"read-only: cannot set '{attr}'"):
        setattr(module, attr, wasmffi.Engine())
    with pytest.raises(AttributeError, match=f"read-only: cannot delete '{attr}'"):
        delattr(module, attr)
    assert getattr(module, attr) is before


def test_instance_memory_is_the_cached_memory_export():
    inst = wasmffi.load('(module (memory (export "heap") 1))')
    assert inst.memory is inst.exports.heap is inst.memory


def test_alternating_names_and_spellings_each_return_their_own_export():
    ex = _named("a", "b", "c").exports
    for _ in range(3):
        assert (ex.a(), ex["b"](), ex.c(), ex["a"](), ex.b(), ex["c"]()) == (1, 2, 3, 1, 2, 3)


def test_looking_up_a_dunder_export_with_brackets_does_not_make_it_an_attribute():
    ex = _named("__custom__").exports
    assert ex["__custom__"]() == 1
    with pytest.raises(AttributeError, match="is an export"):
        ex.__custom__
    assert ex["__custom__"]() == 1


def test_equal_but_distinct_name_strings_find_the_same_export():
    ex = _named("name").exports
    built = "".join(["na", "me"])  # not the interned literal
    assert built is not "name"  # noqa: F632 (distinct objects on purpose)
    assert getattr(ex, built) is ex.name is ex[built]


# ---------------------------------------------------------------------------------------------
# Any export name (property test)
# ---------------------------------------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402


def _wat_name(name: str) -> str:
    """A WAT string literal for any name: every UTF-8 byte as a \\hh escape."""
    return '"' + "".join(f"\\{b:02x}" for b in name.encode("utf-8")) + '"'


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=("Cs",)), max_size=12), min_size=1, max_size=6,
                unique=True))
def test_any_export_name_is_reachable_with_brackets_and_as_attribute_when_python_allows(names):
    body = " ".join(f"(func (export {_wat_name(n)}) (result i32) i32.const {i})" for i, n in enumerate(names))
    ex = wasmffi.load(f"(module {body})").exports
    assert list(ex) == names and len(ex) == len(names)
    for i, name in enumerate(names):
        assert name in ex
        assert ex[name]() == i
        dunder = len(name) >= 4 and name.startswith("__") and name.endswith("__")
        if dunder:
            assert name not in dir(ex)
        else:
            assert getattr(ex, name) is ex[name]
            assert (name in dir(ex)) == name.isidentifier()
    missing = "".join(names) + "x"
    assert missing not in ex
    with pytest.raises(KeyError):
        ex[missing]
