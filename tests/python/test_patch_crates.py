"""engine/patch_crates.py: the crates.io crates the engine builds with a change of ours."""

import hashlib
import importlib.util
import io
import re
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("patch_crates", ROOT / "engine" / "patch_crates.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


pc = load_script()


def tarball(files: dict) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def demo_crate(data: bytes, *edits) -> "pc.Crate":
    return pc.Crate(name="demo", version="1.0.0", sha256=hashlib.sha256(data).hexdigest(),
                    edits=tuple(edits))


@pytest.fixture
def cargo_home(tmp_path, monkeypatch):
    home = tmp_path / "cargo"
    (home / "registry" / "cache" / "index.example").mkdir(parents=True)
    monkeypatch.setenv("CARGO_HOME", str(home))
    return home / "registry" / "cache" / "index.example"


def no_network(monkeypatch, data: bytes = b""):
    calls = []

    def urlopen(url, timeout):
        calls.append(url)
        return io.BytesIO(data)

    monkeypatch.setattr(pc.urllib.request, "urlopen", urlopen)
    return calls


def test_every_patched_crate_is_a_path_package_in_the_lock_file():
    lock = (ROOT / "engine" / "Cargo.lock").read_text()
    assert pc.CRATES
    for crate in pc.CRATES:
        entry = re.search(rf'\[\[package\]\]\nname = "{crate.name}"\nversion = "([^"]+)"\n(source = .*\n)?', lock)
        assert entry, crate.name
        assert entry.group(1) == crate.version
        assert entry.group(2) is None, f"{crate.name} is locked to a registry source, not the patched copy"


def test_a_crate_from_cargos_cache_is_unpacked_patched_and_stamped(tmp_path, cargo_home, monkeypatch):
    data = tarball({"demo-1.0.0/src/lib.rs": "fn a() {}\nfn c() {}\n", "demo-1.0.0/Cargo.toml": "[package]\n"})
    (cargo_home / "demo-1.0.0.crate").write_bytes(data)
    downloads = no_network(monkeypatch)
    crate = demo_crate(data, pc.Edit("src/lib.rs", "fn a() {}\n", "fn b() {}\n"))

    path = pc.prepare(crate, tmp_path / "out")

    assert path == tmp_path / "out" / "demo-1.0.0"
    assert (path / "src" / "lib.rs").read_text() == "fn b() {}\nfn c() {}\n"
    assert (path / pc.STAMP).read_text() == pc.script_digest()
    assert downloads == []
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["demo-1.0.0"]  # no temp dir left
    # Stamped by this script: the next build leaves it alone.
    (path / "src" / "lib.rs").write_text("touched\n")
    assert pc.prepare(crate, tmp_path / "out") == path
    assert (path / "src" / "lib.rs").read_text() == "touched\n"
    # A stamp from another version of the script: patched again from the pristine crate.
    (path / pc.STAMP).write_text("older")
    pc.prepare(crate, tmp_path / "out")
    assert (path / "src" / "lib.rs").read_text() == "fn b() {}\nfn c() {}\n"


def test_without_the_crate_in_cargos_cache_it_is_downloaded_and_checked(tmp_path, cargo_home, monkeypatch):
    data = tarball({"demo-1.0.0/src/lib.rs": "fn a() {}\n"})
    (cargo_home / "demo-1.0.0.crate").write_bytes(b"a cached file with another checksum")
    downloads = no_network(monkeypatch, data)
    pc.prepare(demo_crate(data), tmp_path / "out")
    assert downloads == ["https://static.crates.io/crates/demo/demo-1.0.0.crate"]


def test_a_download_with_another_checksum_is_refused(tmp_path, cargo_home, monkeypatch):
    data = tarball({"demo-1.0.0/src/lib.rs": "fn a() {}\n"})
    no_network(monkeypatch, data + b"tampered")
    with pytest.raises(pc.PatchError, match=r"demo-1\.0\.0: https://static\.crates\.io/.* has sha256 [0-9a-f]{64}, "
                                            rf"expected {hashlib.sha256(data).hexdigest()}"):
        pc.prepare(demo_crate(data), tmp_path / "out")
    assert not (tmp_path / "out" / "demo-1.0.0").exists()


@pytest.mark.parametrize("text, found", [("fn z() {}\n", 0), ("fn a() {}\nfn a() {}\n", 2)])
def test_an_edit_that_does_not_match_exactly_once_stops_the_build(tmp_path, cargo_home, monkeypatch, text, found):
    data = tarball({"demo-1.0.0/src/lib.rs": text})
    (cargo_home / "demo-1.0.0.crate").write_bytes(data)
    crate = demo_crate(data, pc.Edit("src/lib.rs", "fn a() {}\n", "fn b() {}\n"))
    with pytest.raises(pc.PatchError, match=rf"^demo-1\.0\.0: src/lib\.rs: expected one match of 'fn a\(\) {{}}', "
                                            rf"found {found}$"):
        pc.prepare(crate, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # nothing half-patched left behind


@pytest.mark.parametrize("member", ["../evil.rs", "other-1.0.0/src/lib.rs", "demo-1.0.0/../../evil.rs"])
def test_archive_members_outside_the_crate_directory_are_refused(tmp_path, cargo_home, member):
    data = tarball({"demo-1.0.0/src/lib.rs": "fn a() {}\n", member: "x"})
    (cargo_home / "demo-1.0.0.crate").write_bytes(data)
    with pytest.raises(pc.PatchError, match=r"unexpected archive member"):
        pc.prepare(demo_crate(data), tmp_path / "out")
    assert not (tmp_path / "evil.rs").exists()


def test_main_prints_one_cargo_config_value_per_crate(tmp_path, cargo_home, monkeypatch, capsys):
    data = tarball({"demo-1.0.0/src/lib.rs": "fn a() {}\n"})
    (cargo_home / "demo-1.0.0.crate").write_bytes(data)
    monkeypatch.setattr(pc, "CRATES", (demo_crate(data),))
    assert pc.main(["patch_crates.py", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out == f'patch.crates-io.demo.path="{tmp_path / "out" / "demo-1.0.0"}"\n'


def test_main_reports_a_failure_in_one_line(tmp_path, cargo_home, monkeypatch, capsys):
    no_network(monkeypatch, b"not a crate")
    monkeypatch.setattr(pc, "CRATES", (demo_crate(b"the real crate"),))
    assert pc.main(["patch_crates.py", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("patch_crates: demo-1.0.0: https://static.crates.io/") and err.count("\n") == 1
