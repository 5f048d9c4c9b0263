"""Tests the verified on-disk module cache: hit, miss, and corrupt, truncated, foreign and tampered entries."""

import os
import pathlib
import stat
import subprocess
import sys
import tempfile
import textwrap
import warnings

import pytest

import wasmffi
from wasmffi import _cache

ADD_WAT = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'
SUB_WAT = '(module (func (export "sub") (param i32 i32) (result i32) local.get 0 local.get 1 i32.sub))'


def entries(d: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in d.iterdir() if p.suffix == ".cwasm" and not p.name.startswith("."))


def _wat2wasm(text: str) -> bytes:
    import wasmtime  # the comparison anchor in requirements-dev.txt; only for its WAT parser

    return wasmtime.wat2wasm(text)


def compile_add(**kw) -> wasmffi.Module:
    m = wasmffi.Module(ADD_WAT, cache=True, **kw)
    assert m.instantiate().exports.add(40, 2) == 42
    return m


# ---------------------------------------------------------------------------------------------
# Where the cache lives
# ---------------------------------------------------------------------------------------------


def test_cache_dir_follows_env_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("WASMFFI_CACHE_DIR", str(tmp_path / "x"))
    assert wasmffi.cache_dir() == str(tmp_path / "x")
    monkeypatch.delenv("WASMFFI_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert wasmffi.cache_dir() == str(tmp_path / "xdg" / "wasmffi" / "modules")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # XDG: relative values are invalid
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert wasmffi.cache_dir() == str(tmp_path / "home" / ".cache" / "wasmffi" / "modules")


def test_secret_file_is_private_to_the_user(cache):
    compile_add()
    st = os.stat(cache / "secret.key")
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    assert st.st_size == 32
    assert stat.S_IMODE(os.stat(cache).st_mode) & 0o077 == 0


# ---------------------------------------------------------------------------------------------
# Miss, hit
# ---------------------------------------------------------------------------------------------


def test_miss_compiles_and_writes_one_entry_then_hit_loads_it(cache):
    compile_add()
    assert _cache.stats["misses"] == 1 and _cache.stats["hits"] == 0
    assert len(entries(cache)) == 1
    before = entries(cache)[0].stat()
    compile_add()
    assert _cache.stats["hits"] == 1 and _cache.stats["misses"] == 1
    after = entries(cache)[0].stat()
    assert (after.st_ino, after.st_size) == (before.st_ino, before.st_size)  # a hit does not rewrite
    assert after.st_mtime_ns >= before.st_mtime_ns  # but marks the entry used (see pruning below)
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]


def test_hit_in_a_new_process_loads_without_compiling(cache):
    compile_add()
    code = textwrap.dedent(f"""
        import wasmffi
        from wasmffi import _cache
        m = wasmffi.Module({ADD_WAT!r}, cache=True)
        assert m.instantiate().exports.add(1, 2) == 3
        print(_cache.stats["hits"], _cache.stats["misses"])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "WASMFFI_CACHE_DIR": str(cache)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "0"]


def test_binary_wat_and_from_file_sources_are_cached(cache, tmp_path):
    wasm = _wat2wasm(ADD_WAT)
    path = tmp_path / "add.wasm"
    path.write_bytes(wasm)
    for _ in range(2):
        assert wasmffi.Module(wasm, cache=True).instantiate().exports.add(2, 2) == 4
        assert wasmffi.Module.from_file(path, cache=True).instantiate().exports.add(2, 3) == 5
    # Same bytes through bytes and from_file: one entry, then three hits.
    assert _cache.stats["misses"] == 1 and _cache.stats["hits"] == 3
    assert len(entries(cache)) == 1
    assert wasmffi.Module.from_file(path, cache=True).__repr__().startswith("<wasmffi.Module add.wasm:")


def test_key_covers_bytes_and_engine_settings(cache):
    compile_add()
    wasmffi.Module(SUB_WAT, cache=True)
    other = wasmffi.Engine(opt_level=2)
    m = compile_add(engine=other)
    assert m.engine is other
    assert _cache.stats["misses"] == 3 and _cache.stats["hits"] == 0
    assert len(entries(cache)) == 3
    compile_add(engine=wasmffi.Engine(opt_level=2))  # equal settings, another Engine: a hit
    assert _cache.stats["hits"] == 1


def test_key_includes_wasmtime_version():
    engine = wasmffi.default_engine()
    assert wasmffi._core.WASMTIME_VERSION.startswith("48.")
    assert wasmffi._core.WASMTIME_VERSION.encode() in _cache.engine_fingerprint(engine)
    assert repr(engine).encode() in _cache.engine_fingerprint(engine)


def test_cache_false_touches_nothing(cache):
    wasmffi.Module(ADD_WAT)
    assert not cache.exists()
    assert _cache.stats["misses"] == 0


def test_compile_error_with_cache_is_compile_error_and_writes_nothing(cache):
    with pytest.raises(wasmffi.CompileError):
        wasmffi.Module(b"\0asm\x01\0\0\0\xff", cache=True)
    assert entries(cache) == []


def test_cache_argument_is_checked(cache):
    with pytest.raises(TypeError, match="Module\\(\\) argument 'cache' must be True or False, not str"):
        wasmffi.Module(ADD_WAT, cache="yes")
    with pytest.raises(TypeError, match="Module.from_file\\(\\) argument 'engine'"):
        wasmffi.Module.from_file(__file__, engine="default")


# ---------------------------------------------------------------------------------------------
# Entries that must not be loaded: ignored, then rewritten
# ---------------------------------------------------------------------------------------------


def _one_entry(cache) -> pathlib.Path:
    compile_add()
    (entry,) = entries(cache)
    return entry


def _check_rejected_and_rewritten(cache, entry: pathlib.Path) -> None:
    _cache.stats.update(hits=0, misses=0, rejected=0)
    compile_add()
    assert (_cache.stats["hits"], _cache.stats["misses"], _cache.stats["rejected"]) == (0, 1, 1)
    assert entry in entries(cache)
    compile_add()  # the rewritten entry is good again
    assert (_cache.stats["hits"], _cache.stats["rejected"]) == (1, 1)


def test_corrupt_entry_is_ignored_and_rewritten(cache):
    entry = _one_entry(cache)
    entry.write_bytes(os.urandom(entry.stat().st_size))
    _check_rejected_and_rewritten(cache, entry)


@pytest.mark.parametrize("keep", [0, 5, 8 + 32, 8 + 32 + 100])
def test_truncated_entry_is_ignored_and_rewritten(cache, keep):
    entry = _one_entry(cache)
    entry.write_bytes(entry.read_bytes()[:keep])
    _check_rejected_and_rewritten(cache, entry)


def test_tampered_artifact_is_ignored_and_rewritten(cache):
    # One flipped bit in the machine code, header intact: only the MAC can tell.
    entry = _one_entry(cache)
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0x01
    entry.write_bytes(bytes(data))
    _check_rejected_and_rewritten(cache, entry)


def test_entry_of_another_module_under_this_name_is_rejected(cache):
    # A genuine, correctly MAC'd artifact, but for SUB: moved over ADD's entry it must not load
    # (the MAC covers the key), or Module(ADD) would silently run SUB's code.
    entry = _one_entry(cache)
    wasmffi.Module(SUB_WAT, cache=True)
    (sub_entry,) = [p for p in entries(cache) if p != entry]
    os.replace(sub_entry, entry)
    _check_rejected_and_rewritten(cache, entry)


def test_foreign_entry_written_under_another_secret_is_rejected(cache, tmp_path, monkeypatch):
    # Another user's (or machine's) cache: valid artifacts, valid format, another key.
    other = tmp_path / "other"
    monkeypatch.setenv("WASMFFI_CACHE_DIR", str(other))
    _cache.reset()
    compile_add()
    (foreign,) = entries(other)
    monkeypatch.setenv("WASMFFI_CACHE_DIR", str(cache))
    _cache.reset()
    wasmffi.Module(SUB_WAT, cache=True)  # creates this cache's own secret
    os.replace(foreign, cache / foreign.name)
    _check_rejected_and_rewritten(cache, cache / foreign.name)


def test_entry_wasmtime_refuses_after_a_good_mac_is_a_miss(cache, monkeypatch):
    # A correctly MAC'd file whose content wasmtime rejects (as after a CPU or wasmtime change
    # the key missed) must still be a miss, not an error.
    entry = _one_entry(cache)
    secret = (cache / "secret.key").read_bytes()
    key = bytes.fromhex(entry.stem)
    junk = b"not an artifact" * 10
    entry.write_bytes(_cache._MAGIC + _cache.mac(key, secret, junk) + junk)
    _check_rejected_and_rewritten(cache, entry)


def test_concurrent_writers_leave_one_good_entry(cache):
    code = textwrap.dedent(f"""
        import wasmffi
        for _ in range(5):
            assert wasmffi.Module({ADD_WAT!r}, cache=True).instantiate().exports.add(1, 1) == 2
    """)
    env = {**os.environ, "WASMFFI_CACHE_DIR": str(cache)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE) for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    assert len(list(cache.glob("secret.key"))) == 1
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]
    compile_add()
    assert _cache.stats["hits"] == 1 and _cache.stats["rejected"] == 0


# ---------------------------------------------------------------------------------------------
# An unusable secret: the cache is off (with one warning), compiling still works
# ---------------------------------------------------------------------------------------------


def test_group_readable_secret_disables_cache_with_one_warning(cache):
    compile_add()
    os.chmod(cache / "secret.key", 0o640)
    _cache.reset()
    with pytest.warns(RuntimeWarning, match="secret.key is readable or writable by others"):
        compile_add()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile_add()  # warned once only
    assert _cache.stats["hits"] == 0 and _cache.stats["misses"] == 0


def test_symlinked_secret_is_refused(cache, tmp_path):
    cache.mkdir()
    target = tmp_path / "elsewhere.key"
    target.write_bytes(b"k" * 32)
    os.chmod(target, 0o600)
    os.symlink(target, cache / "secret.key")
    with pytest.warns(RuntimeWarning, match="wasmffi module cache disabled"):
        compile_add()
    assert entries(cache) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_secret_owned_by_another_user_is_refused(cache):
    compile_add()
    os.chown(cache / "secret.key", 12345, -1)
    _cache.reset()
    with pytest.warns(RuntimeWarning, match="owned by uid 12345, not by this user"):
        compile_add()
    assert _cache.stats["hits"] == 0


def test_secret_of_wrong_size_is_refused(cache):
    cache.mkdir()
    fd = os.open(cache / "secret.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"short")
    os.close(fd)
    with pytest.warns(RuntimeWarning, match="holds 5 bytes"):
        compile_add()
    assert entries(cache) == []


def test_unusable_cache_dir_warns_and_compiles(tmp_path, monkeypatch):
    # A cache path under a regular file cannot be created, whoever runs the test (even root).
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    monkeypatch.setenv("WASMFFI_CACHE_DIR", str(blocker / "cache"))
    _cache.reset()
    with pytest.warns(RuntimeWarning, match="wasmffi module cache disabled: cannot use .*file/cache"):
        compile_add()
    assert _cache.stats["misses"] == 0 and _cache.stats["hits"] == 0
    _cache.reset()


def test_unwritable_entries_warn_and_compile(cache, monkeypatch):
    compile_add()
    (entry,) = entries(cache)
    entry.unlink()

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # _cache imports tempfile where it writes
    with pytest.warns(RuntimeWarning, match="cannot write to"):
        compile_add()
    assert _cache.stats["write_errors"] == 1


# ---------------------------------------------------------------------------------------------
# Size bound: least recently used entries go
# ---------------------------------------------------------------------------------------------


def _distinct_wat(i: int) -> str:
    return f'(module (func (export "f") (result i32) i32.const {i}))'


def test_writes_past_the_bound_remove_least_recently_used_entries(cache, monkeypatch):
    first = wasmffi.Module(_distinct_wat(0), cache=True)
    size = entries(cache)[0].stat().st_size
    # Room for four entries: the fifth write prunes to three quarters of the bound (three).
    monkeypatch.setenv("WASMFFI_CACHE_MAX_BYTES", str(4 * size + size // 2))
    for i in range(1, 4):
        wasmffi.Module(_distinct_wat(i), cache=True)
    # Make entry 0 the most recently used (a hit refreshes it), entry 1 the oldest.
    for n, p in enumerate(sorted(entries(cache), key=lambda p: p.stat().st_mtime)):
        os.utime(p, (1000 + n, 1000 + n))
    assert wasmffi.Module(_distinct_wat(0), cache=True).instantiate().exports.f() == 0
    assert _cache.stats["hits"] == 1 and _cache.stats["prunes"] == 0
    wasmffi.Module(_distinct_wat(4), cache=True)
    assert _cache.stats["prunes"] == 1
    left = entries(cache)
    assert sum(p.stat().st_size for p in left) <= 0.75 * (4 * size + size // 2)
    keys = {_cache.module_key_for(_distinct_wat(i).encode(), True, wasmffi.default_engine()).hex(): i
            for i in range(5)}
    survivors = sorted(keys[p.stem] for p in left)
    assert survivors == [0, 3, 4]  # 1 and 2 were the least recently used
    del first


def test_prune_cache_removes_stale_temp_files_and_checks_its_argument(cache):
    compile_add()
    stale, fresh = cache / ".tmp-dead.cwasm", cache / ".tmp-live.cwasm"
    stale.write_bytes(b"x" * 100)
    fresh.write_bytes(b"y" * 10)
    os.utime(stale, (0, 0))  # a writer that died long ago
    (cache / "notes.txt").write_text("not ours")
    assert wasmffi.prune_cache() == 100
    assert not stale.exists() and fresh.exists() and (cache / "notes.txt").exists()
    assert len(entries(cache)) == 1  # far below the default bound: kept
    entry_size = entries(cache)[0].stat().st_size
    assert wasmffi.prune_cache(0) == entry_size and entries(cache) == []
    assert wasmffi.prune_cache(0) == 0
    with pytest.raises(ValueError, match="must be >= 0"):
        wasmffi.prune_cache(-1)
    with pytest.raises(TypeError, match="must be an int"):
        wasmffi.prune_cache("100")
    assert wasmffi.prune_cache(directory=str(cache / "missing")) == 0


def test_a_bad_size_bound_warns_once_and_uses_the_default(cache, monkeypatch):
    monkeypatch.setenv("WASMFFI_CACHE_MAX_BYTES", "lots")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile_add()
        wasmffi.Module(SUB_WAT, cache=True)
    assert [str(w.message) for w in caught if "WASMFFI_CACHE_MAX_BYTES" in str(w.message)] == [
        f"wasmffi module cache: WASMFFI_CACHE_MAX_BYTES='lots' is not a size in bytes; using {1 << 30}"]
    assert len(entries(cache)) == 2
