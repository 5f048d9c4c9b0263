"""Running untrusted plugins: the README's recommended set-up (wasmffi.Wasi.sandboxed) and its plugin
runner, taken from the README itself, against a sleeping, looping, memory-bombing, stdout-flooding
and stack-smashing plugin (guest/examples/plugin.c)."""

import json
import re
import subprocess
import sys
import textwrap

import pytest
from conftest import GENEROUS, ROOT, guest_path

import wasmffi

MIB = 1 << 20


def readme_runner() -> str:
    """The README block that defines run_plugin, up to its first use."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Running untrusted plugins"):]
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    return block[:block.index("plugin = wasmffi.Module(")]


@pytest.fixture(scope="module")
def plugin():
    return wasmffi.Module.from_file(guest_path("plugin"))


def test_sandboxed_grants_nothing_and_sets_the_documented_limits():
    wasi = wasmffi.Wasi.sandboxed()
    assert (wasi.argv, wasi.env, wasi.stdin, wasi.preopens) == ([], [], b"", [])
    assert (wasi.stdout_mode, wasi.stderr_mode) == ("capture", "capture")
    assert (wasi.stdout_limit, wasi.stderr_limit) == (1 << 20, 1 << 20)
    assert (wasi._run_timeout, wasi._run_max_memory) == (1.0, 64 << 20)


def test_sandboxed_runs_stop_a_loop_by_its_timeout_and_a_bomb_by_its_memory_cap(plugin):
    with pytest.raises(wasmffi.Interrupt, match="timeout=0.2"):
        wasmffi.Wasi.sandboxed(argv=["p", "loop"], timeout=0.2).run(plugin)
    # run()'s own keywords win over the preset's for that run.
    with pytest.raises(wasmffi.Interrupt, match="timeout=0.1"):
        wasmffi.Wasi.sandboxed(argv=["p", "loop"]).run(plugin, timeout=0.1)
    bomb = wasmffi.Wasi.sandboxed(argv=["p", "bomb"], max_memory=8 << 20)
    with pytest.raises(wasmffi.Unreachable):  # malloc failed at 8 MiB, and the plugin aborted
        bomb.run(plugin)


def test_sandboxed_output_goes_to_a_file_like_target_with_the_limit(plugin):
    import io

    out = io.BytesIO()
    with pytest.raises(wasmffi.OutputLimitExceeded):
        wasmffi.Wasi.sandboxed(argv=["p", "flood"], stdout=out, output_limit=4096).run(plugin)
    assert len(out.getvalue()) == 4096


@pytest.mark.parametrize("kwargs,words", [
    ({"stdout": "inherit"}, "stdout is captured"),
    ({"timeout": 0}, "timeout must be a number of seconds above 0"),
    ({"timeout": None}, "timeout must be a number of seconds above 0"),
    ({"max_memory": -1}, "max_memory must be a number of bytes above 0"),
])
def test_sandboxed_refuses_what_would_undo_it(kwargs, words):
    with pytest.raises(ValueError, match=words):
        wasmffi.Wasi.sandboxed(**kwargs)


CHILD = textwrap.dedent("""
    import gc, json, os, sys, time, wasmffi
    PAGE = os.sysconf("SC_PAGE_SIZE")
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    exec(sys.argv[1])                                   # the README's run_plugin
    plugin = wasmffi.Module(sys.argv[2])
    assert run_plugin(plugin, "greet", stdin=b"warm-up\\n") == b"hello, warm-up\\n"
    gc.collect()
    base = rss()
    outcomes, slowest = {}, 0.0
    for round_ in range(3):
        for mode in ("sleep", "loop", "bomb", "flood", "smash"):
            start = time.monotonic()
            outcomes.setdefault(mode, set()).add(run_plugin(plugin, mode))
            slowest = max(slowest, time.monotonic() - start)
    healthy = run_plugin(plugin, "greet", stdin=b"world\\n")
    after = rss()
    print(json.dumps({"outcomes": {m: sorted(o) for m, o in outcomes.items()}, "healthy": healthy.decode(),
                      "base": base, "after": after, "slowest": slowest}))
""")


def test_the_readme_runner_survives_every_hostile_plugin_with_the_host_healthy_and_memory_back():
    out = subprocess.run([sys.executable, "-c", CHILD, readme_runner(), str(guest_path("plugin"))],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["outcomes"] == {
        "sleep": ["stopped: Interrupt"],                # blocked in WASI's poll_oneoff: the same timeout
        "loop": ["stopped: Interrupt"],                 # the runner's timeout=0.5
        "bomb": ["stopped: Unreachable"],               # malloc failed at 64 MiB; it aborted
        "flood": ["stopped: OutputLimitExceeded"],      # 1 MiB of stdout
        "smash": ["stopped: MemoryOutOfBounds"],        # its C stack ran off the bottom of memory
    }, report
    assert report["healthy"] == "hello, world\n"
    assert report["slowest"] < 0.5 + GENEROUS, report
    # Three bombs touched 64 MiB each, three floods captured 1 MiB each: all of it went back.
    assert report["after"] - report["base"] < 16 * MIB, report
