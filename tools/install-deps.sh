#!/usr/bin/env bash
# Installs what `make` needs and the machine lacks: Debian packages (as root), then checks cargo.
# Idempotent and quiet when everything is present, so every make target can call it.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have clang || need+=(clang)
have wasm-ld || need+=(lld)
have cmake || need+=(cmake)
have ninja || need+=(ninja-build)
have g++ || need+=(g++)
have make || need+=(make)
[ -f /usr/include/gtest/gtest.h ] || need+=(libgtest-dev)
# `wasmffi build --libc` (and build/guest/cstr_libc.wasm): wasi-libc in Debian's multiarch layout,
# and compiler-rt's wasm32 builtins that clang links with it.
[ -f /usr/lib/wasm32-wasi/libc.a ] || need+=(wasi-libc)
{ have clang && [ -f "$(clang --target=wasm32-wasi -print-libgcc-file-name)" ]; } || need+=(libclang-rt-dev-wasm32)
have python3 || need+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)

if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The engine is built by cargo from crates.io; rustup's toolchain is part of this machine kind.
if ! have cargo && [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; fi
if ! have cargo; then
  echo "install-deps: cargo (rustc >= 1.95) is required to build wasmtime; install it with rustup" >&2
  exit 1
fi
