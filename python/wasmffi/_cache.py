"""The on-disk cache of compiled modules and the verified artifacts that pickles carry.

A compiled artifact is machine code: wasmtime maps it executable after checking only a header, so
loading bytes someone else wrote runs their code. Every artifact this module hands to the core's
deserializer has first been proven ours by a keyed MAC (BLAKE2b keyed with a per-user secret
file); anything else (missing, truncated, corrupt, written under another key, or tampered with)
is treated as a miss: the module is compiled from its wasm bytes and the entry is rewritten.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
import warnings
from typing import Optional

from . import _core
from ._errors import CompileError

# hashlib, hmac and tempfile (with shutil, random, bz2, lzma) are imported by the functions that
# use them: a program that never caches or pickles a module need not load them with wasmffi.

# Bumped whenever the file layout or what the key covers changes, or when the engine's compiler
# starts making other code for the same settings: old entries then simply miss. 2: functions that
# cannot call have no epoch check at entry (engine/patch_crates.py); the older artifacts ran
# correctly, only slower.
_FORMAT = b"wasmffi-cache-2"
_MAGIC = b"WFFIART1"  # first 8 bytes of every cache file
_MAC_SIZE = 32
_HEADER_SIZE = len(_MAGIC) + _MAC_SIZE
_SECRET_SIZE = 32
_SECRET_NAME = "secret.key"

# Counters the tests read: what the last operations did (hit, miss, rejected entries, writes).
stats = {"hits": 0, "misses": 0, "rejected": 0, "writes": 0, "write_errors": 0, "prunes": 0,
         "unpickle_verified": 0, "unpickle_compiled": 0}

_lock = threading.Lock()
_secret: Optional[bytes] = None
_secret_dir: Optional[str] = None
_warned: set[str] = set()


def _after_fork_in_child() -> None:
    # A thread of the parent may have held the lock at fork(); the child has no such thread.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def cache_dir() -> str:
    """The directory compiled modules are cached in: $WASMFFI_CACHE_DIR if set, else
    $XDG_CACHE_HOME/wasmffi/modules, else ~/.cache/wasmffi/modules (XDG base directory rules)."""
    explicit = os.environ.get("WASMFFI_CACHE_DIR")
    if explicit:
        return os.path.abspath(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):  # XDG: a relative value is invalid and ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "wasmffi", "modules")


def _warn_once(reason: str) -> None:
    if reason not in _warned:
        _warned.add(reason)
        warnings.warn(f"wasmffi module cache disabled: {reason}", RuntimeWarning, stacklevel=4)


def _check_secret_fd(fd: int, path: str) -> Optional[str]:
    """Why the open secret file must not be trusted, or None if it is fine."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is not a regular file"
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"{path} is owned by uid {st.st_uid}, not by this user"
    if st.st_mode & 0o077:
        return f"{path} is readable or writable by others (mode {stat.S_IMODE(st.st_mode):o}; want 600)"
    return None


def _read_secret(path: str) -> Optional[bytes]:
    """The secret in `path` if the file is safe to use (else warns once and returns None);
    raises FileNotFoundError when there is none yet."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        problem = _check_secret_fd(fd, path)
        if problem is None:
            data = os.read(fd, _SECRET_SIZE + 1)
            if len(data) != _SECRET_SIZE:
                problem = f"{path} holds {len(data)} bytes, not a {_SECRET_SIZE}-byte key"
    finally:
        os.close(fd)
    if problem is not None:
        _warn_once(problem + " (delete it to start a new cache)")
        return None
    return data


def _create_secret(directory: str, path: str) -> None:
    """Writes a new secret to `path` unless another process got there first: the key is written
    to a 0600 temp file (mkstemp opens with O_CREAT|O_EXCL, mode 0600), then hard-linked into
    place, which fails if `path` exists, so no reader ever sees a half-written key."""
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".secret-")
    try:
        os.write(fd, os.urandom(_SECRET_SIZE))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race; its key is the one we read back
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            # A filesystem without hard links: exclusive create of the final name instead.
            try:
                out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return
            with os.fdopen(out, "wb") as f:
                with open(tmp, "rb") as src:
                    f.write(src.read())
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp)


def secret(directory: Optional[str] = None) -> Optional[bytes]:
    """This user's MAC key for `directory` (default cache_dir()), created on first use; None
    when the cache cannot be used safely (a warning says why, once)."""
    global _secret, _secret_dir
    directory = directory or cache_dir()
    with _lock:
        if _secret is not None and _secret_dir == directory:
            return _secret
        path = os.path.join(directory, _SECRET_NAME)
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            try:
                key = _read_secret(path)
            except FileNotFoundError:
                _create_secret(directory, path)
                key = _read_secret(path)
        except OSError as e:
            _warn_once(f"cannot use {directory}: {e.strerror or e}")
            return None
        if key is not None:
            _secret, _secret_dir = key, directory
        return key


def reset() -> None:
    """Forgets the remembered secret, warnings and counters (tests switch cache directories)."""
    global _secret, _secret_dir
    with _lock:
        _secret = _secret_dir = None
        _warned.clear()
        for k in stats:
            stats[k] = 0


def engine_fingerprint(engine: _core.Engine) -> bytes:
    """Everything about the engine a compiled artifact depends on: the wasmtime release and
    every Engine setting (repr lists all of them, so settings added later are covered too)."""
    return b"\0".join((_FORMAT, _core.WASMTIME_VERSION.encode(), repr(engine).encode()))


def module_key(source: bytes, engine: _core.Engine) -> bytes:
    """The cache key: a hash of the module's bytes (wasm, or WAT text) and the engine fingerprint."""
    import hashlib

    h = hashlib.blake2b(digest_size=32, person=b"wasmffi-key")
    fp = engine_fingerprint(engine)
    h.update(len(fp).to_bytes(8, "little"))
    h.update(fp)
    h.update(source)
    return h.digest()


def module_key_for(source: bytes, is_wat: bool, engine: _core.Engine) -> bytes:
    """module_key() for a module given as wasm bytes or as WAT text (kept apart: the same bytes
    can never mean both, but the key should not rely on that)."""
    return module_key((b"wat\0" if is_wat else b"wasm\0") + source, engine)


def mac(key: bytes, secret_key: bytes, artifact: bytes) -> bytes:
    """The MAC binding `artifact` to the module key it was compiled for: a valid artifact for
    another module (or another engine) does not verify under this one's key."""
    import hashlib

    h = hashlib.blake2b(key=secret_key, digest_size=_MAC_SIZE, person=b"wasmffi-mac")
    h.update(key)
    h.update(artifact)
    return h.digest()


def verify(key: bytes, secret_key: bytes, artifact: bytes, tag: bytes) -> bool:
    import hmac

    return hmac.compare_digest(mac(key, secret_key, artifact), tag)


def deserialize_verified(engine: _core.Engine, key: bytes, artifact: bytes,
                         tag: bytes, secret_key: bytes) -> "Optional[_core._Module]":
    """The module from `artifact` if its MAC proves we wrote it for `key`, else None. An
    artifact wasmtime still refuses (e.g. the CPU features changed) also gives None."""
    if not verify(key, secret_key, artifact, tag):
        return None
    try:
        return _core._Module._deserialize_trusted(engine, artifact)
    except CompileError:
        return None


def _entry_path(directory: str, key: bytes) -> str:
    return os.path.join(directory, key.hex() + ".cwasm")


# The cache's size bound: $WASMFFI_CACHE_MAX_BYTES, else this. A write that takes the directory
# past it removes the least recently used entries (a hit refreshes an entry's mtime) until the
# rest fit in _PRUNE_TO of it, so that not every write has to prune.
DEFAULT_MAX_BYTES = 1 << 30
_PRUNE_TO = 0.75
# A writer's temp file older than this belongs to a process that died mid-write.
_STALE_TMP_SECONDS = 3600.0


def max_bytes_setting() -> int:
    """The cache's size bound in bytes ($WASMFFI_CACHE_MAX_BYTES, else 1 GiB). A value that is not
    a non-negative integer is ignored with one warning."""
    text = os.environ.get("WASMFFI_CACHE_MAX_BYTES")
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        reason = f"WASMFFI_CACHE_MAX_BYTES={text!r} is not a size in bytes; using {DEFAULT_MAX_BYTES}"
        if reason not in _warned:
            _warned.add(reason)
            warnings.warn(f"wasmffi module cache: {reason}", RuntimeWarning, stacklevel=4)
        return DEFAULT_MAX_BYTES
    return value


def prune_cache(max_bytes: Optional[int] = None, directory: Optional[str] = None) -> int:
    """Removes least recently used entries from the compile cache until its entries total at most
    `max_bytes` (default: three quarters of the bound, see max_bytes_setting()), and writers' temp files
    left for over an hour. Returns the number of bytes removed. Entries another process removes
    meanwhile, or is reading, are no problem: a missing entry is a miss, and an open file stays
    readable after its unlink."""
    directory = directory or cache_dir()
    if max_bytes is None:
        max_bytes = int(max_bytes_setting() * _PRUNE_TO)
    elif isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise TypeError(f"prune_cache() argument 'max_bytes' must be an int, not {type(max_bytes).__name__}")
    elif max_bytes < 0:
        raise ValueError(f"prune_cache() argument 'max_bytes' must be >= 0, not {max_bytes}")
    return _prune(directory, max_bytes) or 0  # (without a trigger it always prunes)


def _prune(directory: str, target: int, trigger: int = -1) -> Optional[int]:
    """One scan of `directory`: if its entries total more than `trigger` bytes, removes writers'
    stale temp files, then the least recently used entries until the rest total at most `target`,
    and returns the bytes removed; otherwise None (nothing done)."""
    entries, stale = [], []
    now = time.time()
    try:
        scan = list(os.scandir(directory))
    except OSError:
        scan = []
    for e in scan:
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or not e.name.endswith(".cwasm"):
            continue
        if not e.name.startswith(".tmp-"):
            entries.append((st.st_mtime, st.st_size, e.path))
        elif now - st.st_mtime > _STALE_TMP_SECONDS:
            stale.append((st.st_size, e.path))
    total = sum(size for _, size, _ in entries)
    if total <= trigger:
        return None
    removed = sum(size for size, path in stale if _unlink(path))
    for _, size, path in sorted(entries):  # oldest use first
        if total <= target:
            break
        if _unlink(path):
            removed += size
        total -= size
    return removed


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except OSError:  # gone already (another process pruned it), or not ours to remove
        return False


def load(directory: str, key: bytes, engine: _core.Engine,
         secret_key: bytes) -> "Optional[_core._Module]":
    """The cached module for `key`, or None (missing, or rejected: it will be rewritten)."""
    path = _entry_path(directory, key)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    m = None
    if len(data) > _HEADER_SIZE and data[:len(_MAGIC)] == _MAGIC:
        tag = data[len(_MAGIC):_HEADER_SIZE]
        m = deserialize_verified(engine, key, data[_HEADER_SIZE:], tag, secret_key)
    if m is None:
        stats["rejected"] += 1
    else:
        try:
            os.utime(path)  # used now: the last to go when the cache is pruned
        except OSError:
            pass
    return m


def store(directory: str, key: bytes, artifact: bytes, secret_key: bytes) -> None:
    """Writes the entry atomically: a temp file in the same directory, then os.replace, so a
    reader sees the old entry, the new one, or none, and concurrent writers of one key are
    harmless (their files are equivalent; the last rename wins)."""
    path = _entry_path(directory, key)
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".cwasm")
    except OSError as e:
        stats["write_errors"] += 1
        _warn_once(f"cannot write to {directory}: {e.strerror or e}")
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC)
            f.write(mac(key, secret_key, artifact))
            f.write(artifact)
        os.replace(tmp, path)
        stats["writes"] += 1
        bound = max_bytes_setting()
        if _prune(directory, int(bound * _PRUNE_TO), trigger=bound) is not None:
            stats["prunes"] += 1
    except OSError as e:
        stats["write_errors"] += 1
        _warn_once(f"cannot write {path}: {e.strerror or e}")
        try:
            os.unlink(tmp)
        except OSError:
            pass


def compile_cached(source: bytes, is_wat: bool, engine: _core.Engine) -> "_core._Module":
    """Compiles through the cache: a verified entry is deserialized, anything else compiles
    (errors are the compiler's) and writes a fresh entry. Without a usable cache directory
    this is a plain compile."""
    def compile_() -> "_core._Module":
        if is_wat:
            return _core._Module.from_wat(engine, source.decode("utf-8"))
        return _core._Module.compile(engine, source)

    directory = cache_dir()
    secret_key = secret(directory)
    if secret_key is None:
        return compile_()
    key = module_key_for(source, is_wat, engine)
    m = load(directory, key, engine, secret_key)
    if m is not None:
        stats["hits"] += 1
        return m
    stats["misses"] += 1
    m = compile_()
    store(directory, key, m.serialize(), secret_key)
    return m
