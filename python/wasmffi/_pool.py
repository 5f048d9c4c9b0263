"""wasmffi.Pool: N instances of one module handed out to threads, one store per thread at a time."""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Optional, Union

from ._api import Instance, Module

Factory = Callable[[], Instance]


class _Closed:
    """Put in the queue by close(): a thread waiting for an instance wakes up and raises."""


_CLOSED = _Closed()


class Pool:
    """Up to `size` instances of one module, for calling it from several threads at once.

    ``Pool(module, size=N, **instantiate_kwargs)`` makes instances with
    ``module.instantiate(**instantiate_kwargs)``; ``Pool(factory, size=N)`` calls `factory` (any
    callable returning a wasmffi.Instance, e.g. ``module.factory(...)``) instead. Instances are
    made lazily, the first time all existing ones are busy, and each is used by one thread at a
    time, so threads never share a store (which would raise StoreInUseError). A thread that finds
    all `size` instances busy waits for one.

    Calls run in parallel only while they do not hold the GIL: make the instances with
    ``release_gil=True`` for that (worth it for calls of more than a few microseconds).

    ``pool.call("export", *args)`` calls one export on a free instance; ``with pool.instance() as
    inst:`` keeps one instance for a group of calls (the cheaper way to make many);
    ``pool.map("export", [(a, b), ...])`` calls it once per argument tuple, spread over the pool's
    instances, and returns the results in order. ``close()`` (or leaving ``with Pool(...) as
    pool:``) drops the instances; using the pool afterwards raises ValueError.
    """

    def __init__(self, module_or_factory: Union[Module, Factory], size: Optional[int] = None,
                 **instantiate_kwargs: Any) -> None:
        if size is None:
            size = os.cpu_count() or 1
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"Pool() argument 'size' must be an int, not {type(size).__name__}")
        if size < 1:
            raise ValueError(f"Pool() argument 'size' must be at least 1, not {size}")
        if isinstance(module_or_factory, Module):
            module = module_or_factory
            self._factory: Factory = lambda: module.instantiate(**instantiate_kwargs)
        elif callable(module_or_factory):
            if instantiate_kwargs:
                raise TypeError(f"Pool(): instantiate keywords ({', '.join(sorted(instantiate_kwargs))}) go with a "
                                f"Module, not a factory (the factory decides how it instantiates)")
            self._factory = module_or_factory
        else:
            raise TypeError(f"Pool() takes a wasmffi.Module or a callable returning a wasmffi.Instance, "
                            f"not {type(module_or_factory).__name__}")
        self._size = size
        self._free: "queue.SimpleQueue[Union[Instance, _Closed]]" = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._made = 0
        self._closed = False
        self._executor: Optional[ThreadPoolExecutor] = None

    @property
    def size(self) -> int:
        """The most instances this pool makes."""
        return self._size

    def _new_instance(self) -> Instance:
        inst = self._factory()
        if not isinstance(inst, Instance):
            raise TypeError(f"Pool(): the factory returned {type(inst).__name__}, not a wasmffi.Instance")
        return inst

    def _acquire(self) -> Instance:
        try:
            got = self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                if self._closed:
                    raise ValueError("the Pool is closed") from None
                make = self._made < self._size
                if make:
                    self._made += 1
            if make:
                try:
                    return self._new_instance()
                except BaseException:
                    with self._lock:
                        self._made -= 1
                    raise
            got = self._free.get()
        if isinstance(got, _Closed):
            self._free.put(got)  # for the next waiter
            raise ValueError("the Pool is closed")
        return got

    def _release(self, inst: Instance) -> None:
        if not self._closed:
            self._free.put(inst)

    @contextmanager
    def instance(self) -> Iterator[Instance]:
        """``with pool.instance() as inst:`` an instance for this thread alone until the block ends."""
        inst = self._acquire()
        try:
            yield inst
        finally:
            self._release(inst)

    def call(self, name: str, *args: Any) -> Any:
        """Calls export `name` with `args` on a free instance."""
        inst = self._acquire()
        try:
            return inst.exports[name](*args)
        finally:
            self._release(inst)

    def map(self, name: str, args: Iterable[Iterable[Any]]) -> list[Any]:
        """``[f(*a) for a in args]`` for export `name`, split into contiguous chunks run on up to
        `size` threads, each with an instance of its own. The results come in the order of `args`."""
        if self._closed:
            raise ValueError("the Pool is closed")
        calls = [tuple(a) for a in args]

        def run(chunk: "list[tuple[Any, ...]]") -> list[Any]:
            with self.instance() as inst:
                f = inst.exports[name]
                return [f(*a) for a in chunk]

        n = min(self._size, len(calls))
        if n <= 1:
            return run(calls)
        step = -(-len(calls) // n)
        chunks = [calls[i:i + step] for i in range(0, len(calls), step)]
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self._size, thread_name_prefix="wasmffi.Pool")
            executor = self._executor
        out: list[Any] = []
        for part in executor.map(run, chunks):
            out.extend(part)
        return out

    def close(self) -> None:
        """Drops the idle instances (busy ones go when their user hands them back) and refuses
        further use; threads waiting for an instance get ValueError. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        while True:
            try:
                self._free.get_nowait()
            except queue.Empty:
                break
        self._free.put(_CLOSED)

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self._made} of {self._size} instances made"
        return f"<wasmffi.Pool {state}>"
