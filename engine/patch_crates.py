#!/usr/bin/env python3
"""Unpacks the crates.io crates that the engine builds with a change of ours, and applies it.

Nothing of these crates is committed: each comes as its .crate file from cargo's download cache
or, failing that, from static.crates.io, and is refused unless its sha256 is the one pinned here
(crates.io's own checksum, the one Cargo.lock held before the crate was patched). The edits are
exact text replacements, each of which must match exactly once, so a crate that is not the one
they were written for stops the build instead of building half-patched.

    python3 engine/patch_crates.py OUT_DIR

unpacks every crate to OUT_DIR/NAME-VERSION (once; a stamp holds a digest of this file, so an
edit made here re-patches) and prints, one per line, the `--config` values that point cargo's
`[patch.crates-io]` at them. cmake/Engine.cmake runs it at configure time; engine/Cargo.lock
records the patched crates as path packages, so cargo must always be run with those values.
docs/build.md, "Compile speed", says why each change is here and what it measured.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Edit:
    path: str  # inside the crate
    old: str
    new: str


@dataclass(frozen=True)
class Crate:
    name: str
    version: str
    sha256: str
    edits: tuple[Edit, ...]

    @property
    def dirname(self) -> str:
        return f"{self.name}-{self.version}"


# Leaf functions without epoch checks at entry.
#
# With epoch interruption on (our default: Ctrl-C and timeout=), wasmtime checks the epoch at
# every function entry and every loop header. A check is a compare, a branch and a cold block
# that calls into the runtime, and that call makes every function a non-leaf for Cranelift: on a
# library of small functions the checks make Cranelift do about 38% more work, and they cost
# every call at run time. The entry check exists only for call graphs (wasmtime's comment in
# `epoch_function_entry`: a tree of calls with no loop can run for exponential time), so a body
# that cannot call anything needs none: between its loop headers, which keep their checks, it
# runs straight-line code no longer than itself. Its loop headers compare against a deadline
# that starts at 0, so the first of them in a call takes the full path once and loads the real
# deadline; a body with neither loops nor large bulk operations compiles to no epoch code at all.
LEAF_EPOCH = Crate(
    name="wasmtime-internal-cranelift",
    version="48.0.8",
    sha256="478c09af53c545d96227b349d35c70fc78e99816923f41428ffff00974bcd145",
    edits=(
        Edit(
            "src/func_environ.rs",
            "    epoch_ptr_var: cranelift_frontend::Variable,\n",
            "    epoch_ptr_var: cranelift_frontend::Variable,\n"
            "\n"
            "    /// wasmffi: whether `epoch_function_entry` checks the epoch (false for a body\n"
            "    /// that cannot call, see `body_may_call` in translate/func_translator.rs).\n"
            "    pub(crate) epoch_entry_check: bool,\n",
        ),
        Edit(
            "src/func_environ.rs",
            "            epoch_ptr_var: Variable::reserved_value(),\n",
            "            epoch_ptr_var: Variable::reserved_value(),\n"
            "            epoch_entry_check: true,\n",
        ),
        Edit(
            "src/func_environ.rs",
            "        let continuation_block = builder.create_block();\n"
            "        let cur_epoch_value = self.epoch_load_current(builder);\n"
            "        self.epoch_check_full(builder, cur_epoch_value, continuation_block);\n",
            "        // wasmffi: a body that cannot call needs no check here (see above: between its\n"
            "        // loop headers it runs straight-line code). Its deadline starts at 0, so the\n"
            "        // first loop header (or large bulk operation) that checks takes the full path,\n"
            "        // which loads the real deadline. In a body with neither, nothing here is used,\n"
            "        // and the constant and the pure epoch-pointer load are dropped.\n"
            "        if !self.epoch_entry_check {\n"
            "            let zero = builder.ins().iconst(ir::types::I64, 0);\n"
            "            builder.def_var(self.epoch_deadline_var, zero);\n"
            "            return;\n"
            "        }\n"
            "        let continuation_block = builder.create_block();\n"
            "        let cur_epoch_value = self.epoch_load_current(builder);\n"
            "        self.epoch_check_full(builder, cur_epoch_value, continuation_block);\n",
        ),
        Edit(
            "src/alias_region.rs",
            "            ir::MemFlagsData::trusted(),\n"
            "            vmctx,\n"
            "            self.offsets.get_ptr_size().vmctx_epoch_ptr().into(),\n",
            "            // wasmffi: readonly and movable, so that a body which never checks the\n"
            "            // epoch drops this load. `Instance::set_store` writes this pointer together\n"
            "            // with the store-context pointer, whose load is marked the same way.\n"
            "            ir::MemFlagsData::trusted().with_readonly().with_can_move(),\n"
            "            vmctx,\n"
            "            self.offsets.get_ptr_size().vmctx_epoch_ptr().into(),\n",
        ),
        Edit(
            "src/translate/func_translator.rs",
            "    environ.before_translate_function(builder)?;\n",
            "    environ.epoch_entry_check = body_may_call(&reader);\n"
            "    environ.before_translate_function(builder)?;\n",
        ),
        Edit(
            "src/translate/func_translator.rs",
            "/// Get the current source location from a reader.\n"
            "fn cur_srcloc(reader: &BinaryReader) -> ir::SourceLoc {\n",
            "/// wasmffi: whether a function body may transfer control to another function: a call\n"
            "/// of any kind (direct, indirect, by reference, tail) or a stack-switching operator.\n"
            "/// A body that may not needs no epoch check at its entry. A body that does not parse\n"
            "/// is said to call: the translation that follows reports the error.\n"
            "fn body_may_call(reader: &BinaryReader) -> bool {\n"
            "    use wasmparser::Operator;\n"
            "    let mut ops = OperatorsReader::new(reader.clone());\n"
            "    while !ops.eof() {\n"
            "        match ops.read() {\n"
            "            Ok(\n"
            "                Operator::Call { .. }\n"
            "                | Operator::CallIndirect { .. }\n"
            "                | Operator::CallRef { .. }\n"
            "                | Operator::ReturnCall { .. }\n"
            "                | Operator::ReturnCallIndirect { .. }\n"
            "                | Operator::ReturnCallRef { .. }\n"
            "                | Operator::Resume { .. }\n"
            "                | Operator::ResumeThrow { .. }\n"
            "                | Operator::ResumeThrowRef { .. }\n"
            "                | Operator::Switch { .. }\n"
            "                | Operator::Suspend { .. },\n"
            "            )\n"
            "            | Err(_) => return true,\n"
            "            Ok(_) => {}\n"
            "        }\n"
            "    }\n"
            "    false\n"
            "}\n"
            "\n"
            "/// Get the current source location from a reader.\n"
            "fn cur_srcloc(reader: &BinaryReader) -> ir::SourceLoc {\n",
        ),
    ),
)

CRATES: tuple[Crate, ...] = (LEAF_EPOCH,)

STAMP = ".wasmffi-patched"


class PatchError(Exception):
    pass


def script_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def cargo_home() -> Path:
    return Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")


def crate_bytes(crate: Crate) -> bytes:
    """The .crate file, from cargo's download cache if it has it, else from crates.io."""
    filename = f"{crate.dirname}.crate"
    for cached in sorted((cargo_home() / "registry" / "cache").glob(f"*/{filename}")):
        data = cached.read_bytes()
        if hashlib.sha256(data).hexdigest() == crate.sha256:
            return data
    url = f"https://static.crates.io/crates/{crate.name}/{filename}"
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read()
    except OSError as exc:
        raise PatchError(f"{crate.dirname}: cannot download {url}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != crate.sha256:
        raise PatchError(f"{crate.dirname}: {url} has sha256 {digest}, expected {crate.sha256}")
    return data


def apply_edits(root: Path, crate: Crate) -> None:
    for edit in crate.edits:
        path = root / edit.path
        text = path.read_text(encoding="utf-8")
        count = text.count(edit.old)
        if count != 1:
            first_line = edit.old.strip().splitlines()[0]
            raise PatchError(
                f"{crate.dirname}: {edit.path}: expected one match of {first_line!r}, found {count}"
            )
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")


def unpack(data: bytes, crate: Crate, into: Path) -> Path:
    """Extracts the crate's single top-level directory NAME-VERSION into `into`."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if parts[0] != crate.dirname or ".." in parts or not (member.isfile() or member.isdir()):
                raise PatchError(f"{crate.dirname}: unexpected archive member {member.name!r}")
        archive.extractall(into)
    return into / crate.dirname


def prepare(crate: Crate, out_dir: Path) -> Path:
    """OUT_DIR/NAME-VERSION, unpacked and patched by this version of the script."""
    target = out_dir / crate.dirname
    stamp = script_digest()
    if (target / STAMP).is_file() and (target / STAMP).read_text() == stamp:
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    data = crate_bytes(crate)
    # Unpack and patch beside the target, then swap it in: a build that is interrupted half way
    # leaves no half-patched crate behind, and concurrent configures each finish a whole one.
    work = Path(tempfile.mkdtemp(prefix=f".{crate.dirname}.", dir=out_dir))
    try:
        patched = unpack(data, crate, work)
        apply_edits(patched, crate)
        (patched / STAMP).write_text(stamp)
        if target.exists():
            shutil.rmtree(target)
        try:
            patched.rename(target)
        except OSError:
            if not ((target / STAMP).is_file() and (target / STAMP).read_text() == stamp):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUT_DIR", file=sys.stderr)
        return 2
    out_dir = Path(argv[1]).resolve()
    try:
        for crate in CRATES:
            path = prepare(crate, out_dir)
            # A JSON string is a valid TOML basic string (same escapes).
            print(f"patch.crates-io.{crate.name}.path={json.dumps(str(path))}")
    except (PatchError, OSError, tarfile.TarError) as exc:
        print(f"patch_crates: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
