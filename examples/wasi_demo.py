"""`make demo`, part two: a C program built with wasi-libc runs under wasmffi.Wasi, granted only what it needs."""

import os
import pathlib
import sys
import tempfile

import wasmffi

GUEST_DIR = pathlib.Path(os.environ.get("WASMFFI_GUEST_DIR", pathlib.Path(__file__).resolve().parents[1] / "build" / "guest"))


def main() -> int:
    prog = wasmffi.Module.from_file(GUEST_DIR / "wasi_prog.wasm")
    with tempfile.TemporaryDirectory() as tmp:
        pathlib.Path(tmp, "in.txt").write_text("files under a preopened directory\n")
        wasi = wasmffi.Wasi(argv=["wasi_prog", "--demo"], env={"GREETING": "hello from the host"},
                            stdin=b"a line on stdin\n", preopens={"/data": tmp})
        wasi.run(prog)
        print("--- the program's stdout ---")
        print(wasi.stdout.decode(), end="")
        print("--- /data/out.txt, written by the program ---")
        print(pathlib.Path(tmp, "out.txt").read_text(), end="")
    try:
        wasmffi.Wasi(env={"EXIT_CODE": "3"}).run(prog)
    except wasmffi.Exit as e:
        print(f"--- exit code surfaced as wasmffi.Exit: code={e.code} ---")
    return 0


if __name__ == "__main__":
    sys.exit(main())
