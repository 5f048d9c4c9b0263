"""InstanceFactory: a module plus instantiate() arguments, picklable, for shipping to worker processes."""

from __future__ import annotations

import inspect
import pickle
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._api import Instance, Module


def _unpicklable_part(value: object, where: str) -> "tuple[str, BaseException] | None":
    """The first part of `value` that pickle refuses (descending into dicts, lists and tuples so
    the error can name e.g. imports['env']['log']), with pickle's complaint; None if all pickle."""
    try:
        pickle.dumps(value)
        return None
    except Exception as e:  # pickle raises PicklingError, AttributeError or TypeError
        error: BaseException = e
    if isinstance(value, dict):
        for k, v in value.items():
            found = _unpicklable_part(v, f"{where}[{k!r}]")
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = _unpicklable_part(v, f"{where}[{i}]")
            if found is not None:
                return found
    return where, error


class InstanceFactory:
    """``factory()`` returns ``module.instantiate(**kwargs)``: a new instance each call.

    Made by ``module.factory(**kwargs)``. It pickles as the module (bytes plus verified compiled
    code, see Module) and the kwargs, so it can be sent to ProcessPoolExecutor, multiprocessing
    or Dask workers; kwargs must then be picklable: imports as module-level functions, not
    lambdas or closures (pickling says which one is not)."""

    __slots__ = ("_module", "_kwargs")
    _module: "Module"
    _kwargs: dict[str, Any]

    def __init__(self, module: "Module", **instantiate_kwargs: Any) -> None:
        from ._api import Module

        if not isinstance(module, Module):
            raise TypeError(f"InstanceFactory() argument 'module' must be a wasmffi.Module, "
                            f"not {type(module).__name__}")
        try:  # a misspelt keyword fails here, not later in a worker process
            inspect.signature(module.instantiate).bind(**instantiate_kwargs)
        except TypeError as e:
            raise TypeError(f"Module.factory(): {e}") from None
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_kwargs", dict(instantiate_kwargs))

    @property
    def module(self) -> "Module":
        return self._module

    @property
    def kwargs(self) -> dict[str, Any]:
        """A copy of the keyword arguments passed to instantiate()."""
        return dict(self._kwargs)

    def __call__(self) -> "Instance":
        return self._module.instantiate(**self._kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        for name, value in self._kwargs.items():
            found = _unpicklable_part(value, name)
            if found is not None:
                where, error = found
                raise pickle.PicklingError(
                    f"wasmffi.InstanceFactory cannot be pickled: {where} is not picklable ({error}); "
                    f"imports must be module-level functions (not lambdas, closures or bound methods "
                    f"of unpicklable objects) to be sent to another process") from error
        return (_make_factory, (self._module, self._kwargs))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"InstanceFactory attributes are read-only: cannot set {name!r}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"<wasmffi.InstanceFactory {self._module!r}({args})>"


def _make_factory(module: "Module", kwargs: dict[str, Any]) -> InstanceFactory:
    return InstanceFactory(module, **kwargs)
