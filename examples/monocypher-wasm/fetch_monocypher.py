"""Fetches Monocypher's C sources from the pinned pymonocypher sdist on PyPI into a build directory."""

# Nothing of Monocypher is committed: `make monocypher` runs this, then compiles the two files it
# extracts with `python -m wasmffi build`. The sdist is checked against a pinned sha256 before a
# byte of it is used. Standard library only, so it runs before anything is installed.

from __future__ import annotations

import argparse
import hashlib
import io
import pathlib
import sys
import tarfile
import urllib.request

VERSION = "4.0.3.4"
URL = ("https://files.pythonhosted.org/packages/41/72/f9016219c9048baed54adee5c006ff140cf30a44fcab26713a3ad1fc521b/"
       f"pymonocypher-{VERSION}.tar.gz")
SHA256 = "5e56e3d3eb770a53e0b9f6274146663c11a11f3d0de5cd48e3be0428d1b07a4a"
# monocypher.c/.h: the library; blake2-kat.json: the BLAKE2 reference KAT the tests replay;
# LICENSE.txt: Monocypher's terms travel with the built module.
MEMBERS = ("monocypher.c", "monocypher.h", "test/blake2-kat.json", "LICENSE.txt")


def fetch(dest: pathlib.Path, url: str = URL, sha256: str = SHA256) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=60) as r:
        data = r.read()
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise SystemExit(f"fetch_monocypher: {url} has sha256 {got}, expected {sha256}: refusing to use it")
    prefix = f"pymonocypher-{VERSION}/"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for name in MEMBERS:
            member = tar.getmember(prefix + name)
            f = tar.extractfile(member)
            if f is None:
                raise SystemExit(f"fetch_monocypher: {prefix + name} is not a regular file in the sdist")
            (dest / pathlib.Path(name).name).write_bytes(f.read())
    (dest / "SOURCE").write_text(f"pymonocypher {VERSION} sdist\n{url}\nsha256 {sha256}\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("dest", type=pathlib.Path, help="directory to write monocypher.c/.h into")
    args = p.parse_args(argv)
    fetch(args.dest)
    print(f"fetched Monocypher sources of pymonocypher {VERSION} into {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
