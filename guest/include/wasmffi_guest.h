/* wasmffi_guest.h: helpers for guest C code compiled with clang --target=wasm32 (no libc needed). */
#ifndef WASMFFI_GUEST_H
#define WASMFFI_GUEST_H

#include <stddef.h>
#include <stdint.h>

/* Exports a function under its own name, e.g. WASMFFI_EXPORT(add) int add(int a, int b). */
#define WASMFFI_EXPORT(name) __attribute__((export_name(#name), visibility("default")))

#endif
