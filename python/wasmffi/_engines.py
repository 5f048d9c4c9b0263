"""The process-wide default Engine, and the engines pickled modules are rebuilt for (one per
distinct setting, made once)."""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any, Optional

from . import _core

_default_engine: Optional[_core.Engine] = None
_default_engine_lock = threading.Lock()


def default_engine() -> _core.Engine:
    """The process-wide Engine used when none is given, unless set_default_engine() chose another:
    4 GiB reservation, memories never move, instances from a pool of 10000 slots (see Engine's
    pooling_slots). Created once, on first use, and shared by every thread; modules compiled for
    it are shared between threads too."""
    global _default_engine
    engine = _default_engine
    if engine is None:
        with _default_engine_lock:  # two threads racing here must not end up with two engines
            if _default_engine is None:
                _default_engine = _new_default_engine()
            engine = _default_engine
    return engine


def _new_default_engine() -> _core.Engine:
    try:
        return _core.Engine(pooling_slots=_core._DEFAULT_POOLING_SLOTS)
    except ValueError as e:
        # The pool reserves its address space up front (~40 TiB of it, none of it memory); under
        # an address-space limit (ulimit -v, RLIMIT_AS) that fails where instances reserved one
        # at a time still fit: run without the pool rather than not at all.
        import warnings

        reason = str(e).replace("\n", " ")
        warnings.warn(f"wasmffi: the default engine runs without its instance pool (slower "
                      f"instantiation): {reason}", RuntimeWarning, stacklevel=3)
        return _core.Engine()


def set_default_engine(engine: _core.Engine) -> None:
    """Makes `engine` the one default_engine() returns from now on (modules compiled before
    keep theirs). Typical use: ``set_default_engine(wasmffi.Engine(consume_fuel=True))`` once at
    start-up, so every Module, load() and unpickled module without an explicit engine gets it."""
    global _default_engine
    if not isinstance(engine, _core.Engine):
        raise TypeError(f"set_default_engine() argument 'engine' must be a wasmffi.Engine, "
                        f"not {type(engine).__name__}")
    with _default_engine_lock:
        _default_engine = engine


def engine_options(engine: _core.Engine) -> dict[str, Any]:
    """Every setting of `engine`, by the keyword Engine() takes it as (its signature lists them
    all, so settings added later travel too)."""
    import inspect

    return {name: getattr(engine, name) for name in inspect.signature(_core.Engine).parameters}


def _after_fork_in_child() -> None:
    # A thread of the parent may have held one of these locks at fork(); the child has no such thread.
    global _default_engine_lock, _engines_lock
    _default_engine_lock = threading.Lock()
    _engines_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _release_engines_at_exit() -> None:
    # At interpreter exit this module's globals can outlive the extension (on CPython 3.12 they
    # are freed after nanobind's leak check, which then reports the default engine as leaked):
    # drop the engines this module holds while everything is still alive. A Module or Instance
    # the program still holds keeps its engine, as it should.
    global _default_engine
    _default_engine = None
    _engines_by_options.clear()


atexit.register(_release_engines_at_exit)

_engines_by_options: dict[tuple[tuple[str, Any], ...], _core.Engine] = {}
_engines_lock = threading.Lock()


def engine_for(options: Optional[dict[str, Any]]) -> _core.Engine:
    """The local engine for a pickled module: the default one when the sender used its default
    (or one with the same settings), else one engine per distinct setting, made once."""
    engine = default_engine()
    if options is None or engine_options(engine) == options:
        return engine
    ident = tuple(sorted(options.items()))
    with _engines_lock:
        found = _engines_by_options.get(ident)
        if found is None:
            found = _engines_by_options[ident] = _core.Engine(**options)
        return found
