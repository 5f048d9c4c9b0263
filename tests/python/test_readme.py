"""Runs README.md's Python blocks in order, in one namespace, and checks the outputs they show.

The convention (stated in the README too): an inline comment `# -> X` is the statement's value
(an expression's, or the variable an assignment binds): equal to the Python expression X, or else
repr()/str() of the value reads X. `# prints: X`, or a comment-only `# prints:` line followed by
comment lines, is what the statement prints. `# SomeError: message` means the statement raises
SomeError (a builtin or wasmffi class) whose message, its first line for multi-line messages
such as traps, reads `message`; comment-only lines right below, aligned with it, continue it.
In all of them `...` stands for any text and runs of white space compare equal. Any other
comment is prose, and a statement without an expectation must simply not raise. A block right
after `<!-- readme-test: not run (reason) -->` is not run.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tokenize
from dataclasses import dataclass, field
from typing import List, Optional

import pytest

import wasmffi
from conftest import GUEST_DIR, ROOT

README = ROOT / "README.md"
SKIP_MARK = re.compile(r"<!--\s*readme-test:\s*not run\s*\((.+)\)\s*-->")
FENCE = re.compile(r"^```(\S*)\s*$")
EXC_COMMENT = re.compile(r"^(?:wasmffi\.)?([A-Za-z_]\w*):\s(.*)$")


@dataclass
class Block:
    lang: str
    first_line: int  # line number in the file of the block's first code line
    code: str
    skip_reason: Optional[str] = None


def blocks(text: str) -> List[Block]:
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        prev = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        mark = SKIP_MARK.search(prev)
        out.append(Block(m.group(1), i + 2, "\n".join(lines[i + 1:j]) + "\n", mark.group(1) if mark else None))
        i = j + 1
    return out


def _exception_class(name: str):
    cls = getattr(builtins, name, None) or getattr(wasmffi, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, BaseException) else None


def _pattern_matches(pattern: str, actual: str) -> bool:
    """Whole-text match where `...` is any text and white space runs are equal."""
    norm = lambda s: " ".join(s.split())  # noqa: E731
    parts = [re.escape(p.strip()) for p in norm(pattern).split("...")]
    return re.fullmatch(r"\s?.*?\s?".join(parts), norm(actual), re.DOTALL) is not None


@dataclass
class Expectation:
    kind: str  # "value", "prints" or "raises"
    text: str
    line: int
    exc: Optional[type] = None
    lines: List[str] = field(default_factory=list)


def _comments(code: str) -> dict:
    """line (1-based, in the block) -> (column, comment text without '#', comment-only line?)"""
    out = {}
    src_lines = code.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            alone = not src_lines[row - 1][:col].strip()
            out[row] = (col, tok.string[1:].strip(), alone)
    return out


def _looks_like_expectation(text: str) -> bool:
    m = EXC_COMMENT.match(text)
    return text.startswith(("->", "prints:")) or bool(m and _exception_class(m.group(1)))


def _expectation(stmt: ast.stmt, comments: dict, next_start: int, offset: int, used: set) -> Optional[Expectation]:
    """The expectation written for `stmt`: its last line's inline comment, the comment-only lines
    that continue it, or a `# prints:` comment block right below it."""
    end = stmt.end_lineno
    follow = [(n, comments[n]) for n in range(end + 1, next_start) if n in comments and comments[n][2]]
    inline = comments.get(end)
    if inline is not None and not inline[2] and _looks_like_expectation(inline[1]):
        col, text, _ = inline
        used.add(end)
        more = []
        for n, (c, t, _) in follow:
            if c != col:
                break
            used.add(n)
            more.append(t)
        line = end + offset
        if text.startswith("->"):
            return Expectation("value", text[2:].split("; ")[0].strip(), line)
        if text.startswith("prints:"):
            return Expectation("prints", "", line, lines=[text[len("prints:"):].strip(), *more])
        m = EXC_COMMENT.match(text)
        return Expectation("raises", " ".join([m.group(2), *more]), line, exc=_exception_class(m.group(1)))
    if follow and follow[0][1][1] == "prints:":
        used.add(follow[0][0])
        out = []
        for n, _ in follow[1:]:
            used.add(n)
            raw = _raw_lines[n - 1]
            out.append(raw.split("#", 1)[1][1:] if "#" in raw else "")
        return Expectation("prints", "", follow[0][0] + offset, lines=out)
    return None


_raw_lines: List[str] = []


def _value_matches(expected: str, value, ns: dict) -> bool:
    try:
        if eval(expected, dict(ns)) == value:  # noqa: S307 (the README's own text)
            return True
    except Exception:
        pass
    return _pattern_matches(expected, repr(value)) or _pattern_matches(expected, str(value))


class ReadmeMismatch(AssertionError):
    pass


def run_block(block: Block, ns: dict, where: str = "README.md") -> int:
    """Runs one block statement by statement in `ns`; returns how many expectations it checked."""
    global _raw_lines
    _raw_lines = block.code.splitlines()
    tree = ast.parse(block.code)
    comments = _comments(block.code)
    offset = block.first_line - 1
    used: set = set()
    checked = 0
    for k, stmt in enumerate(tree.body):
        next_start = tree.body[k + 1].lineno if k + 1 < len(tree.body) else len(_raw_lines) + 1
        exp = _expectation(stmt, comments, next_start, offset, used)
        line = stmt.lineno + offset
        src = ast.get_source_segment(block.code, stmt)
        ast.increment_lineno(stmt, offset)
        out = io.StringIO()
        value, raised = None, None
        try:
            with contextlib.redirect_stdout(out):
                if isinstance(stmt, ast.Expr):
                    value = eval(compile(ast.Expression(stmt.value), where, "eval"), ns)  # noqa: S307
                else:
                    exec(compile(ast.Module([stmt], []), where, "exec"), ns)  # noqa: S102
                    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                        value = ns[stmt.targets[0].id]
        except Exception as e:  # noqa: BLE001 (compared with the README below)
            raised = e
        context = f"{where}:{line}: {src!r}"
        if exp is None or exp.kind != "raises":
            if raised is not None:
                raise ReadmeMismatch(f"{context} raised {type(raised).__name__}: {raised}") from raised
        if exp is None:
            continue
        checked += 1
        if exp.kind == "raises":
            if raised is None:
                raise ReadmeMismatch(f"{context} should raise {exp.exc.__name__}: {exp.text}, but did not")
            msg = str(raised)
            first = msg if "\n" in exp.text else msg.split("\n", 1)[0]
            if not isinstance(raised, exp.exc) or not _pattern_matches(exp.text, first):
                raise ReadmeMismatch(f"{context} should raise {exp.exc.__name__}: {exp.text}\n"
                                     f"  but raised {type(raised).__name__}: {first}")
        elif exp.kind == "value":
            if not _value_matches(exp.text, value, ns):
                raise ReadmeMismatch(f"{context} should be {exp.text}, but is {value!r}")
        else:
            got = out.getvalue().rstrip("\n").split("\n")
            if len(got) != len(exp.lines) or not all(_pattern_matches(e, g) for e, g in zip(exp.lines, got)):
                raise ReadmeMismatch(f"{context} should print {exp.lines!r}, but printed {got!r}")
    stray = [n + offset for n, (_, t, _) in comments.items() if n not in used and _looks_like_expectation(t)]
    if stray:
        raise ReadmeMismatch(f"{where}: expectation comment(s) on line(s) {stray} belong to no statement "
                             "(write them on a statement's last line)")
    return checked


@pytest.fixture
def in_readme_root(tmp_path, monkeypatch):
    """The README's paths are relative to the repository root, with guests in build/guest; its
    `cache=True` examples write to a temporary cache directory, not the user's."""
    monkeypatch.setenv("WASMFFI_CACHE_DIR", str(tmp_path / "cache"))
    if (ROOT / "build" / "guest").resolve() == GUEST_DIR.resolve():
        monkeypatch.chdir(ROOT)
    else:
        (tmp_path / "build").mkdir()
        (tmp_path / "build" / "guest").symlink_to(GUEST_DIR.resolve(), target_is_directory=True)
        monkeypatch.chdir(tmp_path)
    if not os.path.exists("build/guest/tour.wasm"):
        pytest.fail("build/guest/tour.wasm is missing: run `make guest` first")
    # The README stands in for a Ctrl-C with _thread.interrupt_main(), which does nothing while
    # SIGINT is ignored (as in a process started in the background by a shell): Python's own
    # handler, as a terminal user has it.
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


# ---------------------------------------------------------------------------------------------
# The README itself
# ---------------------------------------------------------------------------------------------


def test_readme_python_blocks_run_in_order_and_show_true_outputs(in_readme_root):
    ns: dict = {"__name__": "__readme__"}
    py = [b for b in blocks(README.read_text(encoding="utf-8")) if b.lang == "python"]
    run = [b for b in py if b.skip_reason is None]
    checked = sum(run_block(b, ns) for b in run)
    assert len(run) >= 10 and checked >= 40, (len(run), checked)


def test_readme_skips_only_marked_blocks_and_says_why():
    all_blocks = blocks(README.read_text(encoding="utf-8"))
    skipped = [b for b in all_blocks if b.skip_reason is not None]
    marks = SKIP_MARK.findall(README.read_text(encoding="utf-8"))
    assert len(skipped) == len(marks), "a not-run mark must sit right above a code block"
    assert all(b.lang == "python" and b.skip_reason.strip() for b in skipped)
    assert len(skipped) <= 1, [b.first_line for b in skipped]


def test_readme_c_guest_compiles_with_the_documented_command(tmp_path):
    if shutil.which("clang") is None:
        pytest.skip("clang is not installed")
    all_blocks = blocks(README.read_text(encoding="utf-8"))
    (c_block,) = [b for b in all_blocks if b.lang == "c"]
    (sh_block,) = [b for b in all_blocks if b.lang == "sh" and "clang --target=wasm32" in b.code]
    name = re.match(r"/\* (\S+\.c) \*/", c_block.code).group(1)
    (tmp_path / name).write_text(c_block.code)
    (tmp_path / "guest").symlink_to(ROOT / "guest", target_is_directory=True)
    clang_line = next(line for line in sh_block.code.splitlines() if line.startswith("clang "))
    subprocess.run(clang_line, shell=True, cwd=tmp_path, check=True, timeout=120)
    inspect_line = next(line for line in sh_block.code.splitlines() if line.startswith("python -m wasmffi inspect"))
    command, _, shown = inspect_line.partition("#")
    r = subprocess.run([sys.executable, *command.split()[1:]], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120, check=True)
    for item in shown.split(", "):
        assert item.strip() in r.stdout, (item, r.stdout)
    inst = wasmffi.load(str(tmp_path / name.replace(".c", ".wasm")))
    assert inst.exports.add(2, 3) == 5 and inst.exports.twice(21) == 42
    assert "twice_of" not in inst.exports


def test_plain_clang_flags_export_nothing_as_the_readme_says(tmp_path):
    if shutil.which("clang") is None:
        pytest.skip("clang is not installed")
    (tmp_path / "plain.c").write_text("int add(int a, int b) { return a + b; }\n")
    subprocess.run(["clang", "--target=wasm32", "-O2", "-nostdlib", "-Wl,--no-entry", "-o", "plain.wasm", "plain.c"],
                   cwd=tmp_path, check=True, timeout=120)
    assert [e.name for e in wasmffi.Module(tmp_path / "plain.wasm").exports] == ["memory"]


# ---------------------------------------------------------------------------------------------
# The checker: each kind of expectation can fail
# ---------------------------------------------------------------------------------------------


def _run(code: str) -> int:
    return run_block(Block("python", 1, code), {}, where="<test>")


def test_checker_accepts_true_values_prints_and_errors():
    assert _run("x = 2 + 3  # -> 5\n"
                "x  # -> 5; prose after a semicolon\n"
                "[1, 2, 3]  # -> [1, ...]\n"
                "print('a  b')  # prints: a b\n"
                "1 / 0  # ZeroDivisionError: division ...\n"
                "for i in range(2):\n    print(i)\n# prints:\n# 0\n# 1\n"
                "int('x')  # ValueError: invalid literal for int()\n"
                "          #   with base 10: 'x'\n") == 7


@pytest.mark.parametrize("code, complaint", [
    ("2 + 3  # -> 6\n", "should be 6, but is 5"),
    ("print('a')  # prints: b\n", "should print"),
    ("1 / 0  # ValueError: division by zero\n", "but raised ZeroDivisionError"),
    ("1 / 0  # ZeroDivisionError: something else\n", "should raise ZeroDivisionError"),
    ("1 + 1  # TypeError: nope\n", "but did not"),
    ("1 / 0\n", "raised ZeroDivisionError"),
    ("if True:\n    x = 1  # -> 1\n    y = 2\n", "belong to no statement"),
], ids=["value", "prints", "wrong-class", "wrong-message", "no-raise", "unexpected-raise", "stray"])
def test_checker_rejects_what_is_not_true(code, complaint):
    with pytest.raises(ReadmeMismatch, match=re.escape(complaint)):
        _run(code)


def test_blocks_reads_fences_languages_and_not_run_marks():
    text = "a\n```python\nx = 1\n```\n<!-- readme-test: not run (why) -->\n\n```python\ny\n```\n```sh\nls\n```\n"
    got = [(b.lang, b.first_line, b.code, b.skip_reason) for b in blocks(text)]
    assert got == [("python", 3, "x = 1\n", None), ("python", 8, "y\n", "why"), ("sh", 11, "ls\n", None)]
