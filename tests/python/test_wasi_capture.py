"""Captured WASI output (src/python/wasi_capture.cpp): each stream takes a limit, past which the guest
stops with wasmffi.OutputLimitExceeded naming the stream and the limit; a file-like target gets
each write as it happens; each Wasi.run starts empty."""

import io
import pickle

import pytest
from conftest import guest_path

import wasmffi

FD_WRITE = '(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))'


def flooder(fd: int) -> str:
    """A command that writes 16 bytes at a time to `fd`, forever (an iovec {16, 16} at 0)."""
    return f"""(module {FD_WRITE}
      (memory (export "memory") 1)
      (data (i32.const 16) "0123456789abcdef")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 16))
        (loop $l (drop (call $fd_write (i32.const {fd}) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l))))"""


# Writes "a" to stdout, calls env.check(), writes "b", and returns.
WRITE_CHECK_WRITE = f"""(module {FD_WRITE}
  (import "env" "check" (func $check))
  (memory (export "memory") 1)
  (data (i32.const 16) "ab")
  (func $say (param $at i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start") (call $say (i32.const 16)) (call $check) (call $say (i32.const 17))))"""

# A reactor: flood(n) writes n 16-byte chunks to stdout.
FLOOD_REACTOR = f"""(module {FD_WRITE}
  (memory (export "memory") 1)
  (data (i32.const 16) "0123456789abcdef")
  (func (export "flood") (param $n i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 16))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))))"""


@pytest.mark.parametrize("fd,stream", [(1, "stdout"), (2, "stderr")])
def test_a_flood_stops_at_the_limit_with_an_error_naming_the_stream_and_the_limit(fd, stream):
    wasi = wasmffi.Wasi(**{f"{stream}_limit": 1000})
    with pytest.raises(wasmffi.OutputLimitExceeded) as ei:
        wasi.run(flooder(fd))
    e = ei.value
    assert (e.stream, e.limit) == (stream, 1000)
    assert f"{stream} went past its limit of 1000 bytes" in str(e) and f"{stream}_limit=1000" in str(e)
    assert isinstance(e, wasmffi.Trap) and isinstance(e.__cause__, wasmffi.Trap)
    # Up to the limit was kept: the last write was cut, nothing was dropped silently before it.
    kept = getattr(wasi, stream)
    assert kept == b"0123456789abcdef" * 62 + b"01234567"  # 1000 bytes
    assert getattr(wasi, "stderr" if stream == "stdout" else "stdout") == b""


def test_a_file_like_target_gets_exactly_the_limit_before_the_guest_stops():
    out = io.BytesIO()
    with pytest.raises(wasmffi.OutputLimitExceeded, match="stdout"):
        wasmffi.Wasi(stdout=out, stdout_limit=100).run(flooder(1))
    assert len(out.getvalue()) == 100


def test_a_limit_of_zero_refuses_the_first_byte():
    wasi = wasmffi.Wasi(stdout_limit=0)
    with pytest.raises(wasmffi.OutputLimitExceeded):
        wasi.run(flooder(1))
    assert wasi.stdout == b""


def test_a_file_like_target_receives_each_write_as_it_happens():
    out = io.BytesIO()
    seen = []
    wasi = wasmffi.Wasi(stdout=out)
    wasi.run(WRITE_CHECK_WRITE, {"env": {"check": lambda: seen.append(out.getvalue())}})
    # Before, the target got everything in one write() when the run ended: seen was [b""].
    assert seen == [b"a"] and out.getvalue() == b"ab"


def test_the_c_programs_printf_streams_to_a_target_and_files_still_work(tmp_path):
    (tmp_path / "in.txt").write_text("hello\n")
    chunks = []

    class Sink:
        def write(self, data):
            chunks.append(data)
            return len(data)

    wasmffi.Wasi(argv=["prog"], stdout=Sink(), preopens={"/data": tmp_path}).run(guest_path("wasi_prog"))
    assert b"".join(chunks).decode().splitlines()[:2] == ["argc=1", "argv[0]=prog"]
    # fd_write to a file goes on to WASI's own, through the forwarder (Engine::wasi_forwarder).
    assert (tmp_path / "out.txt").read_text() == "HELLO\n"


def test_an_exception_from_the_targets_write_stops_the_guest_and_is_raised_as_itself():
    class Full(Exception):
        pass

    class Sink:
        def write(self, data):
            raise Full("disk full")

    with pytest.raises(Full, match="disk full") as ei:
        wasmffi.Wasi(stdout=Sink()).run(flooder(1))
    assert isinstance(ei.value.__cause__, wasmffi.Trap)
    assert "write() of the Wasi's stdout target raised" in str(ei.value.__cause__)


def test_each_run_starts_empty_and_counts_its_limit_from_zero():
    wasi = wasmffi.Wasi(env={"EXIT_CODE": "0"}, stdout_limit=1000)
    prog = wasmffi.Module.from_file(guest_path("wasi_prog"))
    wasi.run(prog)
    first = wasi.stdout
    assert first.startswith(b"argc=0\n")
    for _ in range(50):  # 50 runs write more than 1000 bytes in all: each run counts alone
        wasi.run(prog)
    assert wasi.stdout == first


def test_a_reactors_limit_counts_across_calls_until_clear():
    wasi = wasmffi.Wasi(stdout_limit=100)
    inst = wasmffi.load(FLOOD_REACTOR, wasi=wasi)
    inst.exports.flood(6)  # 96 bytes
    with pytest.raises(wasmffi.OutputLimitExceeded):
        inst.exports.flood(1)
    assert len(wasi.stdout) == 100
    wasi.clear()
    inst.exports.flood(6)  # the instance stays usable; the count restarted
    assert len(wasi.stdout) == 96


def test_the_limit_holds_in_a_call_that_released_the_gil():
    wasi = wasmffi.Wasi(stdout_limit=64)
    inst = wasmffi.load(FLOOD_REACTOR, wasi=wasi, release_gil=True)
    with pytest.raises(wasmffi.OutputLimitExceeded) as ei:
        inst.exports.flood(10)
    assert ei.value.limit == 64 and wasi.stdout == b"0123456789abcdef" * 4


def test_a_file_like_target_refuses_release_gil_by_name():
    with pytest.raises(ValueError, match="file-like object"):
        wasmffi.load(FLOOD_REACTOR, wasi=wasmffi.Wasi(stdout=io.BytesIO()), release_gil=True)


def test_a_guest_that_misses_its_limit_is_not_stopped_later_by_a_stale_record():
    wasi = wasmffi.Wasi(stdout_limit=16)
    inst = wasmffi.load(FLOOD_REACTOR, wasi=wasi)
    with pytest.raises(wasmffi.OutputLimitExceeded):
        inst.exports.flood(2)
    other = wasmffi.load('(module (func (export "f") unreachable))')
    with pytest.raises(wasmffi.Unreachable):
        other.exports.f()
    wasi.clear()
    inst.exports.flood(1)


def test_output_limit_exceeded_pickles():
    e = pickle.loads(pickle.dumps(wasmffi.OutputLimitExceeded("stderr", 5)))
    assert (e.stream, e.limit, str(e)) == ("stderr", 5, str(wasmffi.OutputLimitExceeded("stderr", 5)))


@pytest.mark.parametrize("kwargs,exc,words", [
    ({"stdout_limit": "1k"}, TypeError, "stdout_limit must be an int or None, not str"),
    ({"stderr_limit": True}, TypeError, "stderr_limit must be an int or None, not bool"),
    ({"stdout_limit": -1}, ValueError, "stdout_limit must be between 0 and 2\\*\\*64 - 1"),
    ({"stdout": "inherit", "stdout_limit": 10}, ValueError, "stdout_limit applies to a captured stdout"),
])
def test_bad_limits_are_refused_by_name(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        wasmffi.Wasi(**kwargs)


def test_repr_shows_the_limits():
    assert repr(wasmffi.Wasi(stdout_limit=10)).endswith("stdout=capture stderr=capture stdout_limit=10>")


# write(fd, iovs, count) calls fd_write with an iovec array the test lays out in memory.
RAW_WRITER = f"""(module {FD_WRITE}
  (memory (export "memory") 1)
  (data (i32.const 64) "abcdef")
  (func (export "write") (param i32 i32 i32) (result i32)
    (call $fd_write (local.get 0) (local.get 1) (local.get 2) (i32.const 8)))
  (func (export "written") (result i32) (i32.load (i32.const 8))))"""


def test_fd_write_writes_the_first_non_empty_iovec_and_says_how_much_as_wasis_own_does():
    wasi = wasmffi.Wasi()
    inst = wasmffi.load(RAW_WRITER, wasi=wasi)
    # iovecs at 16: {64, 0} (empty), {64, 3} "abc", {67, 3} "def"
    inst.memory.pack_into("<6I", 16, 64, 0, 64, 3, 67, 3)
    assert inst.exports.write(1, 16, 3) == 0 and inst.exports.written() == 3
    assert wasi.stdout == b"abc"  # libc's writev writes the rest in a further call
    assert inst.exports.write(1, 16, 0) == 0 and inst.exports.written() == 0


@pytest.mark.parametrize("iovs,count,what", [
    (0xFFFFFFF8, 2, "iovec array past the end of memory"),
    (16, 1, "buffer past the end of memory"),
])
def test_fd_write_with_a_bad_address_returns_efault_and_writes_nothing(iovs, count, what):
    wasi = wasmffi.Wasi()
    inst = wasmffi.load(RAW_WRITER, wasi=wasi)
    inst.memory.pack_into("<2I", 16, 65530, 100)  # 100 bytes from 65530: past the 64 KiB
    assert inst.exports.write(1, iovs, count) == 21, what  # EFAULT
    assert wasi.stdout == b""


def test_an_fd_write_given_as_an_import_is_used_as_given():
    seen = []

    def fd_write(fd, iovs, count, nwritten):
        seen.append(fd)
        return 0

    wasi = wasmffi.Wasi(stdout_limit=1)
    inst = wasmffi.load(FLOOD_REACTOR, {"wasi_snapshot_preview1": {"fd_write": fd_write}}, wasi=wasi)
    inst.exports.flood(3)  # past the limit, were the capture in the way
    assert seen == [1, 1, 1] and wasi.stdout == b""
