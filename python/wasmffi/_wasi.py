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

    ``Wasi(argv=(), env=None, stdin=b"", stdout=None, stderr=None, preopens=None)``

    - argv: the program's arguments (argv[0] included), str each; env: a mapping of str to str
      (the process's own environment is never passed on unless you pass it);
    - stdin: bytes the program reads (default empty), or "inherit": this process's own stdin
      (a read that waits for input still stops at the call's timeout, Ctrl-C or cancel);
    - stdout / stderr: None (default) captures into ``wasi.stdout`` / ``wasi.stderr`` (bytes,
      accumulated); a file-like object with ``write(bytes)`` gets the captured bytes when the run
      (or ``flush()``) ends; "inherit" writes to this process's own stream;
    - preopens: {"/guest/path": "host/dir"} directories the program may open, read and write
      (a ``(host_dir, "ro")`` tuple as the value grants read-only access); no filesystem otherwise.

    Use it with ``wasi.run(source)`` for a command (its ``_start``; a non-zero exit raises
    wasmffi.Exit), or ``wasmffi.load(source, wasi=wasi)`` for a WASI reactor library.
    One Wasi can serve several instances; their output goes to the same place.
    """

    def __init__(self, argv: Iterable[str] = (), env: Optional[Mapping[str, str]] = None,
                 stdin: Union[bytes, str] = b"",
                 stdout: Any = None, stderr: Any = None, preopens: Optional[Mapping[str, Any]] = None):
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
        self._out = bytearray()
        self._err = bytearray()

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
        if target == _INHERIT:
            return "inherit"
        if callable(getattr(target, "write", None)):
            self._sinks[name] = target
            return "capture"
        raise TypeError(f"Wasi(): {name} must be None (capture), 'inherit' or a file-like object with write(), "
                        f"not {type(target).__name__}")

    def flush(self) -> None:
        """Moves captured output to its file-like target (or to ``.stdout`` / ``.stderr``)."""
        for name, buf, is_err in (("stdout", self._out, False), ("stderr", self._err, True)):
            data = self._capture.take(is_err)
            if not data:
                continue
            sink = self._sinks.get(name)
            if sink is not None:
                sink.write(data)
            else:
                buf += data

    @property
    def stdout(self) -> bytes:
        """Everything the programs wrote to stdout so far (when captured)."""
        self.flush()
        return bytes(self._out)

    @property
    def stderr(self) -> bytes:
        """Everything the programs wrote to stderr so far (when captured)."""
        self.flush()
        return bytes(self._err)

    def run(self, source: Source | Module, imports: Optional[object] = None, *,
            engine: Optional[_core.Engine] = None, timeout: Optional[float] = None,
            fuel: Optional[int] = None, max_memory: Optional[int] = None) -> None:
        """Instantiates a WASI command and runs its ``_start``. Returns None when it returns or
        exits with 0; a non-zero exit raises wasmffi.Exit (``.code``); traps raise as usual.
        `timeout`, `fuel` and `max_memory` are the sandbox limits of Module.instantiate."""
        from ._api import Module

        module = source if isinstance(source, Module) else Module(source, engine=engine)
        inst = module.instantiate(imports, wasi=self, timeout=timeout, fuel=fuel, max_memory=max_memory)
        try:
            code = _core._wasi_start(inst._i)
        finally:
            self.flush()
        if code != 0:
            raise Exit(code)

    def __repr__(self) -> str:
        return (f"<wasmffi.Wasi argv={self.argv!r} env={len(self.env)} preopens="
                f"{[g for _, g, _ in self.preopens]!r} stdout={self.stdout_mode} stderr={self.stderr_mode}>")
