"""docs/portability.md's promise: system calls that differ between platforms sit behind the
platform units in src/platform/, and every unit is listed in its table."""

import re

from conftest import ROOT

# Calls (and headers) of ours that are Linux/POSIX-specific: each belongs in a platform unit.
SYSTEM_SPECIFIC = re.compile(
    r"\b(pthread_(?!exit)\w+|madvise|sysconf|pause|mmap|munmap)\s*\(|(?<![\w>:])::(poll|read|write)\s*\("
    r"|#include\s*<(pthread\.h|unistd\.h|poll\.h|sys/mman\.h|windows\.h)>")


def sources(root):
    return sorted(p for p in root.rglob("*") if p.suffix in (".cpp", ".hpp", ".h"))


def code_only(text: str) -> str:
    """The text without // comments (comments may name the calls they explain)."""
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def test_system_specific_calls_are_only_in_platform_units():
    found = []
    for path in sources(ROOT / "src") + sources(ROOT / "include"):
        if "platform" in path.relative_to(ROOT).parts:
            continue
        for n, line in enumerate(code_only(path.read_text(encoding="utf-8")).splitlines(), 1):
            if SYSTEM_SPECIFIC.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "system-specific code outside src/platform/ (docs/portability.md):\n" + "\n".join(found)


def test_the_pattern_catches_what_it_is_for():
    for line in ["  pthread_atfork(nullptr, nullptr, f);", "madvise(p, n, MADV_DONTNEED);",
                 "const ssize_t got = ::read(STDIN_FILENO, tmp, n);", "#include <unistd.h>", "for (;;) pause();"]:
        assert SYSTEM_SPECIFIC.search(line), line
    for line in ["Result<void> GuestMemory::read(uint64_t addr, std::span<uint8_t> out) const {",
                 "pause_ticks(); // pthread_atfork(", "ended with pthread_exit"]:
        assert not SYSTEM_SPECIFIC.search(code_only(line)), line


def test_every_platform_unit_is_in_the_portability_table_and_the_build():
    doc = (ROOT / "docs" / "portability.md").read_text(encoding="utf-8")
    cmake = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    units = sorted(p.stem for p in (ROOT / "src" / "platform").glob("*.hpp"))
    assert units == ["fork", "pages", "park", "stack", "stdin"]
    for unit in units:
        assert f"`platform/{unit}.hpp`" in doc, unit
        assert f"src/platform/{unit}.cpp" in cmake, unit
