"""wasmffi.Wasi: WASI preview 1 for an instance, deny by default, with captured output and Exit codes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import _core
from ._errors import Exit

if TYPE_CHECKING:
    from ._api import Module
    from ._source import Source

_INHERIT = "inherit"


class Wasi:
    """What a WASI preview 1 program may see: nothing unless granted.

    ``Wasi(argv=(), env=None, stdin=b"", stdout=None, stderr=None, preopens=None, *,
    stdout_limit=None, stderr_limit=None)``

    - argv: the program's arguments (argv[0] included), str each; env: a mapping of str to str
      (the process's own environment is never passed on unless you pass it);
    - stdin: bytes the program reads (default empty), or "inherit": this process's own stdin
      (a read that waits for input still stops at the call's timeout, Ctrl-C or cancel);
    - stdout / stderr: None (default) captures into ``wasi.stdout`` / ``wasi.stderr`` (bytes); a
      file-like object gets each write of the program through its ``write(bytes)`` as it happens
      (in the middle of the call, on the calling thread); "inherit" writes to this process's own
      stream;
    - stdout_limit / stderr_limit: at most this many bytes for a captured stream (None: no limit);
      the write that goes past it keeps the bytes up to the limit and stops the program with
      wasmffi.OutputLimitExceeded (naming the stream and the limit). Not for "inherit";
    - preopens: {"/guest/path": "host/dir"} directories the program may open, read and write
      (a ``(host_dir, "ro")`` tuple as the value grants read-only access); no filesystem otherwise.

    Use it with ``wasi.run(source)`` for a command (its ``_start``; a non-zero exit raises
    wasmffi.Exit), or ``wasmffi.load(source, wasi=wasi)`` for a WASI reactor library.
    One Wasi can serve several instances; their output goes to the same place, and counts
    against the same limits. Each ``run()`` starts empty: ``wasi.stdout`` / ``wasi.stderr`` then
    hold that run's output only, and the limits count from zero (``clear()`` does the same for
    instances made with ``wasi=``, whose output otherwise accumulates).
    ``Wasi.sandboxed()`` is the set-up recommended for untrusted programs.
    """

    def __init__(self, argv: Iterable[str] = (), env: Optional[Mapping[str, str]] = None,
                 stdin: Union[bytes, str] = b"",
                 stdout: Any = None, stderr: Any = None, preopens: Optional[Mapping[str, Any]] = None, *,
                 stdout_limit: Optional[int] = None, stderr_limit: Optional[int] = None):
        self.argv = [self._text(a, "argv item") for a in argv]
        env = {} if env is None else env
        if not isinstance(env, Mapping):
            raise TypeError(f"Wasi(): env must be a mapping of str to str, not {type(env).__name__}")
        self.env = [(self._text(k, "env name"), self._text(v, f"env[{k!r}]")) for k, v in env.items()]
        for k, _ in self.env:
            if "=" in k or not k:
                raise ValueError(f"Wasi(): env name {k!r} must be non-empty and contain no '='")
        self.stdin_mode = "bytes"
        if isinstance(stdin, str) and stdin == _INHERIT:
            self.stdin_mode, stdin = "inherit", b""
        elif not isinstance(stdin, (bytes, bytearray, memoryview)):
            raise TypeError(f"Wasi(): stdin must be bytes or 'inherit', not {type(stdin).__name__}")
        self.stdin = bytes(stdin)
        self._sinks: Dict[str, Any] = {}
        self.stdout_mode = self._output_mode(stdout, "stdout")
        self.stderr_mode = self._output_mode(stderr, "stderr")
        self.stdout_limit = self._limit(stdout_limit, "stdout")
        self.stderr_limit = self._limit(stderr_limit, "stderr")
        for name, mode, limit in (("stdout", self.stdout_mode, self.stdout_limit),
                                  ("stderr", self.stderr_mode, self.stderr_limit)):
            if mode == _INHERIT and limit is not None:
                raise ValueError(f"Wasi(): {name}_limit applies to a captured {name}, not to 'inherit'")
        self.preopens: List[Tuple[str, str, bool]] = []
        for guest, host in (preopens or {}).items():
            writable = True
            if isinstance(host, tuple):
                if len(host) != 2 or host[1] not in ("ro", "rw"):
                    raise ValueError(f"Wasi(): preopens[{guest!r}] must be a directory or (directory, 'ro'|'rw')")
                host, writable = host[0], host[1] == "rw"
            host = os.fspath(host)
            if not os.path.isdir(host):
                raise FileNotFoundError(f"Wasi(): preopens[{guest!r}]: no such host directory: {host!r}")
            self.preopens.append((host, self._text(guest, "preopen guest path"), writable))
        self._capture = _core._WasiCapture()
        for is_err, name, mode, limit in ((False, "stdout", self.stdout_mode, self.stdout_limit),
                                          (True, "stderr", self.stderr_mode, self.stderr_limit)):
            self._capture.configure(is_err, mode == "capture", self._sinks.get(name), limit)
        # What run() uses when a limit is not given (Wasi.sandboxed sets them).
        self._run_timeout: Optional[float] = None
        self._run_max_memory: Optional[int] = None

    @classmethod
    def sandboxed(cls, argv: Iterable[str] = (), env: Optional[Mapping[str, str]] = None, stdin: bytes = b"", *,
                  stdout: Any = None, stderr: Any = None, timeout: float = 1.0, max_memory: int = 64 << 20,
                  output_limit: int = 1 << 20) -> "Wasi":
        """The set-up recommended for untrusted programs (README: "Running untrusted plugins"):
        no filesystem, no environment but `env`, no arguments but `argv`; stdout and stderr
        captured (or given to file-like `stdout` / `stderr`) and limited to `output_limit` bytes
        each; and each ``run()`` in a fresh instance limited to `timeout` seconds and
        `max_memory` bytes of guest memory, unless run() is given others."""
        for name, value in (("stdout", stdout), ("stderr", stderr)):
            if value == _INHERIT:
                raise ValueError(f"Wasi.sandboxed(): {name} is captured (None or a file-like object), not 'inherit'")
        wasi = cls(argv, env, stdin, stdout, stderr, stdout_limit=output_limit, stderr_limit=output_limit)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"Wasi.sandboxed(): timeout must be a number of seconds above 0, not {timeout!r}")
        if isinstance(max_memory, bool) or not isinstance(max_memory, int) or max_memory <= 0:
            raise ValueError(f"Wasi.sandboxed(): max_memory must be a number of bytes above 0, not {max_memory!r}")
        wasi._run_timeout, wasi._run_max_memory = float(timeout), max_memory
        return wasi

    @staticmethod
    def _text(value: object, what: str) -> str:
        if not isinstance(value, str):
            raise TypeError(f"Wasi(): {what} must be str, not {type(value).__name__}")
        if "\0" in value:
            raise ValueError(f"Wasi(): {what} cannot contain a NUL character")
        return value

    def _output_mode(self, target: Any, name: str) -> str:
        if target is None:
            return "capture"
        if isinstance(target, str) and target == _INHERIT:
            return "inherit"
        if callable(getattr(target, "write", None)):
            self._sinks[name] = target
            return "capture"
        raise TypeError(f"Wasi(): {name} must be None (capture), 'inherit' or a file-like object with write(), "
                        f"not {type(target).__name__}")

    @staticmethod
    def _limit(value: Optional[int], name: str) -> Optional[int]:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"Wasi(): {name}_limit must be an int or None, not {type(value).__name__}")
        if not 0 <= value < 2**64:
            raise ValueError(f"Wasi(): {name}_limit must be between 0 and 2**64 - 1 bytes, not {value}")
        return value

    def clear(self) -> None:
        """Empties ``.stdout`` and ``.stderr`` and restarts both limits' counts (``run()`` does
        this first)."""
        self._capture.clear()

    def flush(self) -> None:
        """Calls ``flush()`` of the file-like targets that have one. (Output reaches them as it is
        written; captured output is in ``.stdout`` / ``.stderr`` at once.)"""
        for sink in self._sinks.values():
            flush = getattr(sink, "flush", None)
            if callable(flush):
                flush()

    @property
    def stdout(self) -> bytes:
        """What the programs wrote to stdout since the last run() or clear() (when captured
        here, not handed to a file-like object)."""
        return self._capture.data(False)

    @property
    def stderr(self) -> bytes:
        """What the programs wrote to stderr since the last run() or clear() (when captured
        here, not handed to a file-like object)."""
        return self._capture.data(True)

    def run(self, source: Source | Module, imports: Optional[object] = None, *,
            engine: Optional[_core.Engine] = None, timeout: Optional[float] = None,
            fuel: Optional[int] = None, max_memory: Optional[int] = None) -> None:
        """Instantiates a WASI command and runs its ``_start``, in a fresh instance each time, with
        ``.stdout`` / ``.stderr`` emptied first. Returns None when it returns or exits with 0; a
        non-zero exit raises wasmffi.Exit (``.code``); traps raise as usual.
        `timeout`, `fuel` and `max_memory` are the sandbox limits of Module.instantiate (a
        Wasi.sandboxed() has its own timeout and max_memory for those not given)."""
        from ._api import Module

        module = source if isinstance(source, Module) else Module(source, engine=engine)
        self.clear()
        inst = module.instantiate(imports, wasi=self, timeout=self._run_timeout if timeout is None else timeout,
                                  fuel=fuel, max_memory=self._run_max_memory if max_memory is None else max_memory)
        try:
            code = _core._wasi_start(inst._i)
        finally:
            # Not kept alive by an exception's traceback (this frame): its memory goes back now.
            del inst
        if code != 0:
            raise Exit(code)

    def __repr__(self) -> str:
        limits = "".join(f" {n}_limit={v}" for n, v in (("stdout", self.stdout_limit), ("stderr", self.stderr_limit))
                         if v is not None)
        return (f"<wasmffi.Wasi argv={self.argv!r} env={len(self.env)} preopens="
                f"{[g for _, g, _ in self.preopens]!r} stdout={self.stdout_mode} stderr={self.stderr_mode}{limits}>")
