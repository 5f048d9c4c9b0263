"""Where a module comes from: a path, wasm bytes or WAT text, told apart and read once, and the
compile (through the on-disk cache when asked)."""

from __future__ import annotations

import errno
import os
from typing import Union

from . import _cache, _core

def looks_like_wat(raw: bytes) -> bool:
    """Text modules start, after white space, with "(" or a ";;" / "(;" comment."""
    head = raw.lstrip()[:2]
    if not (head[:1] == b"(" or head == b";;"):
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


PATH_SUFFIXES = (".wasm", ".wat")
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def str_is_path(text: str) -> bool:
    """A str names a file when it ends in .wasm/.wat (on one line), contains no "(" (no module
    text can), or names an existing file; WAT text always contains "("."""
    if "\n" not in text and text.lower().endswith(PATH_SUFFIXES):
        return True
    if "(" not in text:
        return True
    if text.lstrip()[:1] == "(" or text.lstrip()[:2] == ";;":
        return False
    try:
        return os.path.isfile(text)
    except (OSError, ValueError):
        return False


def abbrev(text: str, limit: int = 40) -> str:
    """repr of the start of `text`: error messages never quote hundreds of characters of input."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def read_file(path: Union[str, "os.PathLike[str]"], who: str) -> bytes:
    """The file's bytes; errors keep their OSError class and name the caller and the path."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            errno.ENOENT, f"{who}: no such file (a str ending in .wasm or .wat, or without '(', is a path)",
            os.fspath(path)) from None
    except ValueError:  # open() refuses NUL characters in paths
        raise ValueError(f"{who}: a path cannot contain a NUL character: {abbrev(os.fspath(path))}") from None
    except OSError as e:
        raise type(e)(e.errno, f"{who}: {e.strerror}", os.fspath(path)) from None


def source_bytes(source: Source, who: str) -> tuple[bytes, bool]:
    """The module's bytes from a path, wasm bytes, or WAT text, and whether they are WAT text
    (UTF-8); `who` names the caller in error messages."""
    if isinstance(source, os.PathLike):
        source = read_file(source, who)
    elif isinstance(source, str):
        if str_is_path(source):
            source = read_file(source, who)
        elif source.lstrip()[:1] == "(" or source.lstrip()[:2] == ";;":
            try:
                return source.encode("utf-8"), True
            except UnicodeEncodeError as e:
                raise ValueError(f"{who}: WAT text is not valid Unicode: {e.reason} at index {e.start}") from None
        else:
            raise ValueError(f"{who}: a str is either a file path (ending in .wasm or .wat) or WAT text "
                             f"(starting with '(' or a ';;' comment); {abbrev(source)} is neither and "
                             f"names no existing file")
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        # Binary, or neither: the engine names the problem ("magic header not detected").
        return raw, looks_like_wat(raw)
    raise TypeError(f"{who} takes a path, wasm bytes or WAT text, not {type(source).__name__}")


def compile_bytes(data: bytes, is_wat: bool, engine: _core.Engine, cache: bool) -> "_core._Module":
    if cache:
        return _cache.compile_cached(data, is_wat, engine)
    if is_wat:
        return _core._Module.from_wat(engine, data.decode("utf-8"))
    return _core._Module.compile(engine, data)
