"""WASI preview 1: a C program built with wasi-libc runs with granted argv, env, stdin and a preopen only."""

import io

import pytest
from conftest import GENEROUS, guest_path, run_threads

import wasmffi


@pytest.fixture(scope="module")
def prog():
    return wasmffi.Module.from_file(guest_path("wasi_prog"))


@pytest.fixture
def data(tmp_path):
    (tmp_path / "in.txt").write_text("hello, wasi\n")
    return tmp_path


def test_the_c_program_sees_exactly_what_was_granted(prog, data):
    wasi = wasmffi.Wasi(argv=["prog", "one", "two words"], env={"GREETING": "hi there"}, stdin=b"from stdin\n",
                        preopens={"/data": data})
    wasi.run(prog)
    out = wasi.stdout.decode()
    assert out.splitlines() == [
        "argc=3", "argv[0]=prog", "argv[1]=one", "argv[2]=two words", "GREETING=hi there",
        "stdin=from stdin", "copied 12 bytes", "/etc/passwd: Capabilities insufficient",
    ]
    assert (data / "out.txt").read_text() == "HELLO, WASI\n"
    assert wasi.stderr == b""


def test_nothing_is_granted_by_default(prog, monkeypatch):
    monkeypatch.setenv("GREETING", "from the host process")
    wasi = wasmffi.Wasi()
    wasi.run(prog)
    out = wasi.stdout.decode().splitlines()
    assert out[0] == "argc=0"
    assert "GREETING=(unset)" in out
    assert not any(line.startswith("stdin=") for line in out)
    assert "/etc/passwd: Capabilities insufficient" in out
    assert wasi.stderr.decode().startswith("cannot open /data/in.txt: ")


def test_a_read_only_preopen_denies_writes(prog, data):
    wasi = wasmffi.Wasi(preopens={"/data": (str(data), "ro")})
    wasi.run(prog)
    assert "cannot create /data/out.txt" in wasi.stderr.decode()
    assert not (data / "out.txt").exists()


def test_a_non_zero_exit_is_wasmffi_exit_with_its_code(prog):
    wasi = wasmffi.Wasi(env={"EXIT_CODE": "7"})
    with pytest.raises(wasmffi.Exit) as ei:
        wasi.run(prog)
    assert ei.value.code == 7 and "status 7" in str(ei.value)
    # Output written before the exit is kept.
    assert wasi.stdout.startswith(b"argc=0\n")


def test_exit_zero_returns_normally(prog):
    assert wasmffi.Wasi(env={"EXIT_CODE": "0"}).run(prog) is None


def test_output_goes_to_file_like_objects(prog):
    out, err = io.BytesIO(), io.BytesIO()
    wasi = wasmffi.Wasi(argv=["p"], stdout=out, stderr=err)
    wasi.run(prog)
    assert out.getvalue().startswith(b"argc=1\nargv[0]=p\n")
    assert err.getvalue().startswith(b"cannot open /data/in.txt")
    assert wasi.stdout == b""


def test_without_wasi_the_program_cannot_link_and_every_import_is_listed(prog):
    with pytest.raises(wasmffi.LinkError) as ei:
        prog.instantiate()
    msg = str(ei.value)
    assert "wasi_snapshot_preview1.fd_write: func" in msg and "wasi_snapshot_preview1.proc_exit: func" in msg


@pytest.mark.parametrize("kwargs,exc,words", [
    ({"argv": ["a", 1]}, TypeError, "argv item must be str"),
    ({"env": {"A=B": "x"}}, ValueError, "contain no '='"),
    ({"env": ["A"]}, TypeError, "env must be a mapping"),
    ({"stdin": "text"}, TypeError, "stdin must be bytes"),
    ({"stdout": 5}, TypeError, "stdout must be None"),
    ({"preopens": {"/d": "/no/such/dir/anywhere"}}, FileNotFoundError, "no such host directory"),
    ({"preopens": {"/d": ("/tmp", "rwx")}}, ValueError, "'ro'|'rw'"),
    ({"argv": ["a\0b"]}, ValueError, "NUL"),
])
def test_bad_wasi_arguments_are_refused_by_name(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        wasmffi.Wasi(**kwargs)


def test_a_module_without_start_is_refused_by_run():
    with pytest.raises(TypeError, match="no _start"):
        wasmffi.Wasi().run('(module (func (export "f")))')


def test_host_imports_and_wasi_combine():
    wat = """(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (import "env" "code" (func $code (result i32)))
      (memory (export "memory") 1)
      (func (export "_start") call $code call $exit))"""
    with pytest.raises(wasmffi.Exit) as ei:
        wasmffi.Wasi().run(wat, {"env": {"code": lambda: 42}})
    assert ei.value.code == 42


LOOPING_COMMAND = '(module (func (export "_start") (loop br 0)))'


def test_run_timeout_stops_a_looping_command_with_an_interrupt_naming_it():
    # Before, Wasi.run took no timeout, and _start ran outside the store's call bracket, so an
    # instance's timeout= never applied to it (the loop ran forever, Ctrl-C included) and a
    # stopped _start came back as a plain Trap. Run in a child process, so that a regression
    # fails here (the child is killed after 60 s) instead of hanging the suite.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import time, wasmffi
        start = time.monotonic()
        try:
            wasmffi.Wasi().run({LOOPING_COMMAND!r}, timeout=0.05)
        except wasmffi.Interrupt as e:
            print(type(e).__name__, "timeout=0.05" in str(e), time.monotonic() - start < {GENEROUS})
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["Interrupt", "True", "True"], out.stderr


def test_run_fuel_stops_a_looping_command_with_out_of_fuel():
    engine = wasmffi.Engine(consume_fuel=True)
    with pytest.raises(wasmffi.OutOfFuel):
        wasmffi.Wasi().run(LOOPING_COMMAND, engine=engine, fuel=10_000)


REACTOR_EXIT = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "quit") (param i32) local.get 0 call $exit)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"""


@pytest.mark.parametrize("code", [0, 3, 125])
def test_an_exit_inside_a_reactor_call_is_wasmffi_exit_with_its_code(code):
    # Before, exit() inside a call through inst.exports came out as a Trap (or a plain Error).
    inst = wasmffi.load(REACTOR_EXIT, wasi=wasmffi.Wasi())
    with pytest.raises(wasmffi.Exit) as ei:
        inst.exports.quit(code)
    assert ei.value.code == code
    assert str(ei.value) == f"the WASI program exited with status {code}"
    assert not isinstance(ei.value, wasmffi.Trap)
    assert inst.exports.add(2, 3) == 5  # the call ended; the instance did not


def test_an_exit_status_wasi_does_not_allow_is_a_trap_saying_so():
    inst = wasmffi.load(REACTOR_EXIT, wasi=wasmffi.Wasi())
    with pytest.raises(wasmffi.Trap, match=r"quit\(\): exit with invalid exit status outside of \[0\.\.126\)"):
        inst.exports.quit(255)
    assert inst.exports.add(1, 1) == 2


def test_an_exit_inside_a_declared_function_is_wasmffi_exit_too():
    inst = wasmffi.load(REACTOR_EXIT, wasi=wasmffi.Wasi(), cdef="void quit(int code);", allocator=None)
    with pytest.raises(wasmffi.Exit) as ei:
        inst.exports.quit(7)
    assert ei.value.code == 7


WASI_SAYER = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "env" "tag" (func $tag (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\\n")
  (func (export "say") (result i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "tagged") (result i32) call $tag)
  (func (export "quit") (param i32) local.get 0 call $exit))"""


def test_a_linker_with_wasi_gives_every_instance_the_one_wasi_context():
    wasi = wasmffi.Wasi()
    linker = wasmffi.Linker(wasi=wasi)
    linker.define("env", "tag", lambda: 7)
    module = wasmffi.Module(WASI_SAYER)
    first, second = linker.instantiate(module), linker.instantiate(module)
    assert first.exports.say() == 0 and second.exports.say() == 0  # fd_write's errno: success
    assert wasi.stdout == b"hi\nhi\n"  # both wrote to the one captured stdout
    assert second.exports.tagged() == 7  # Python definitions and WASI combine
    with pytest.raises(wasmffi.Exit) as ei:
        second.exports.quit(4)
    assert ei.value.code == 4
    assert first.exports.say() == 0 and wasi.stdout == b"hi\nhi\nhi\n"


def test_a_linker_without_wasi_lists_the_wasi_imports_as_unresolved():
    linker = wasmffi.Linker()
    linker.define("env", "tag", lambda: 7)
    with pytest.raises(wasmffi.LinkError, match=r"wasi_snapshot_preview1\.fd_write[\s\S]*wasi_snapshot_preview1\.proc_exit"):
        linker.instantiate(wasmffi.Module(WASI_SAYER))
    with pytest.raises(TypeError, match="Linker\\(\\) argument 'wasi' must be a wasmffi.Wasi or None, not dict"):
        wasmffi.Linker(wasi={})


# Every store of an engine links WASI through one linker the engine makes on first use (defining
# WASI per instance cost ~43 us of ~58); these check that sharing it shares nothing else.
@pytest.mark.parametrize("engine", [None, "own"], ids=["default engine", "engine of its own"])
def test_instances_made_on_threads_each_see_only_their_own_wasi(prog, engine):
    module = prog if engine is None else wasmffi.Module.from_file(guest_path("wasi_prog"), engine=wasmffi.Engine())
    outputs = {}

    def work(i):
        for round_ in range(20):
            wasi = wasmffi.Wasi(argv=["prog", f"thread {i}", f"round {round_}"], env={"GREETING": str(i)})
            wasi.run(module)
            outputs[i, round_] = wasi.stdout.decode().splitlines()

    assert run_threads(work, 4) == []
    for (i, round_), lines in outputs.items():
        assert lines[:5] == ["argc=3", "argv[0]=prog", f"argv[1]=thread {i}", f"argv[2]=round {round_}",
                             f"GREETING={i}"]
    assert len(outputs) == 80


def test_reactor_instances_of_one_engine_keep_separate_wasi_contexts():
    module = wasmffi.Module(WASI_SAYER)
    first, second = wasmffi.Wasi(), wasmffi.Wasi()
    a = module.instantiate({"env": {"tag": lambda: 1}}, wasi=first)
    b = module.instantiate({"env": {"tag": lambda: 2}}, wasi=second)
    assert a.exports.say() == 0 and a.exports.say() == 0 and b.exports.say() == 0
    assert first.stdout == b"hi\nhi\n" and second.stdout == b"hi\n"


# A module that imports only WASI, given only a Wasi, skips the Python import resolution: the
# engine's WASI linker must still name what it cannot provide, and wasmtime what does not fit.
def test_a_wasi_only_module_importing_what_wasi_lacks_is_a_link_error_naming_it():
    module = wasmffi.Module('(module (import "wasi_snapshot_preview1" "no_such_call" (func (param i32))))')
    with pytest.raises(wasmffi.LinkError, match=r"'wasi_snapshot_preview1\.no_such_call' \(func \(i32\) -> \(\)\) is "
                                                r"neither given nor provided by WASI preview 1"):
        module.instantiate(wasi=wasmffi.Wasi())


def test_a_wasi_only_module_importing_a_wasi_function_with_another_type_is_a_link_error():
    module = wasmffi.Module('(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32))))')
    with pytest.raises(wasmffi.LinkError, match=r"incompatible import type for `wasi_snapshot_preview1::fd_write`"):
        module.instantiate(wasi=wasmffi.Wasi())


def test_which_modules_take_the_wasi_only_path_and_given_imports_still_resolve(prog):
    assert prog._wasi_only
    assert not wasmffi.Module(WASI_SAYER)._wasi_only  # env.tag besides WASI
    assert not wasmffi.Module("(module)")._wasi_only
    # Given imports (even none), resolution runs as before and leaves WASI's imports to WASI.
    wasi = wasmffi.Wasi(argv=["prog", "x"])
    wasi.run(prog, {})
    assert wasi.stdout.decode().splitlines()[:2] == ["argc=2", "argv[0]=prog"]


# A reactor that writes "out\n" to stdout (fd 1) or "err\n" to stderr (fd 2) per call of say(fd).
SAYING_REACTOR = r"""(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "out\n")
  (data (i32.const 32) "err\n")
  (func (export "say") (param $fd i32) (result i32)
    (i32.store (i32.const 0) (select (i32.const 16) (i32.const 32) (i32.eq (local.get $fd) (i32.const 1))))
    (i32.store (i32.const 4) (i32.const 4))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))"""


def test_a_reactors_output_reaches_its_file_like_targets_at_each_write():
    out, err = io.BytesIO(), io.BytesIO()
    wasi = wasmffi.Wasi(stdout=out, stderr=err)
    inst = wasmffi.load(SAYING_REACTOR, wasi=wasi)
    assert inst.exports.say(1) == 0
    # Before, output waited in the capture until flush() or the end of a run.
    assert out.getvalue() == b"out\n" and err.getvalue() == b""
    assert [inst.exports.say(fd) for fd in (2, 1)] == [0, 0]
    assert out.getvalue() == b"out\nout\n" and err.getvalue() == b"err\n"
    wasi.flush()  # BytesIO.flush(): nothing written twice
    assert out.getvalue() == b"out\nout\n" and err.getvalue() == b"err\n"
    assert wasi.stdout == b"" and wasi.stderr == b""  # handed on, not also kept


def test_a_reactors_captured_output_accumulates_until_clear():
    wasi = wasmffi.Wasi()
    inst = wasmffi.load(SAYING_REACTOR, wasi=wasi)
    inst.exports.say(1)
    inst.exports.say(2)
    wasi.flush()  # no file-like target: nothing to do
    assert (wasi.stdout, wasi.stderr) == (b"out\n", b"err\n")
    inst.exports.say(1)
    assert wasi.stdout == b"out\nout\n"  # reading keeps what came before
    wasi.clear()
    assert (wasi.stdout, wasi.stderr) == (b"", b"")
    inst.exports.say(2)
    assert (wasi.stdout, wasi.stderr) == (b"", b"err\n")
