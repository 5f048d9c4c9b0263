/* wasmffi_guest.h: helpers for guest C code compiled with clang --target=wasm32 (no libc needed). */
#ifndef WASMFFI_GUEST_H
#define WASMFFI_GUEST_H

/*
 * Build a guest with (the Makefile's GUEST_CFLAGS, see README.md "Your own guest, in C"):
 *
 *   clang --target=wasm32 -O2 -nostdlib -fno-builtin -Iguest/include -Wl,--no-entry -o x.wasm x.c
 *
 * On wasm32 clang hides every symbol by default, so a function is exported only when marked with
 * WASMFFI_EXPORT (plain flags give a module that exports nothing but its memory). --no-entry: a
 * library has no main. -fno-builtin: -nostdlib leaves memset/memcpy undefined, so clang must not
 * turn loops into calls to them.
 */

#include <stddef.h>
#include <stdint.h>

/* Exports a function under its own name, e.g. WASMFFI_EXPORT(add) int add(int a, int b). */
#define WASMFFI_EXPORT(name) __attribute__((export_name(#name), visibility("default")))

#endif
