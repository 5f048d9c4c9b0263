/* wasmffi_alloc.c: emits the bump allocator's exports; `python -m wasmffi build` links it into every module. */
#define WASMFFI_ALLOC_IMPLEMENTATION
#include "wasmffi_alloc.h"
