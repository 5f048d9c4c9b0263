//! Re-exports wasmtime's C API so that this crate's static library carries every `wasm_*` and
//! `wasmtime_*` symbol the C++ core links against, plus the few helpers the C API lacks.
pub use wasmtime_c_api::*;

use wasmtime::{HeapType, ValType};

/// Like `wasm_valtype_kind`, but never aborts: the C API calls `abort()` for v128 and for
/// reference types other than nullable externref/funcref, which would take the host process
/// down just for describing a module. Returns the C API's kind codes, 4 for v128
/// (WASMTIME_V128) and 255 for anything the project does not model yet.
#[unsafe(no_mangle)]
pub extern "C" fn wasmffi_valtype_kind(vt: &ValType) -> u8 {
    match vt {
        ValType::I32 => 0,
        ValType::I64 => 1,
        ValType::F32 => 2,
        ValType::F64 => 3,
        ValType::V128 => 4,
        ValType::Ref(r) => match (r.is_nullable(), r.heap_type()) {
            (true, HeapType::Extern) => 128,
            (true, HeapType::Func) => 129,
            _ => 255,
        },
    }
}

// `wasm_config_t` and `wasm_engine_t` are `#[repr(C)]` structs with a single field (the wasmtime
// `Config` / `Engine` they wrap), so each has exactly its field's layout, at offset 0. The C API
// keeps the field private to its crate; these checks pin the layout the two helpers below rely
// on when they convert between a wrapper and what it wraps.
const _: () = assert!(std::mem::size_of::<wasm_config_t>() == std::mem::size_of::<wasmtime::Config>());
const _: () = assert!(std::mem::align_of::<wasm_config_t>() == std::mem::align_of::<wasmtime::Config>());
const _: () = assert!(std::mem::size_of::<wasm_engine_t>() == std::mem::size_of::<wasmtime::Engine>());
const _: () = assert!(std::mem::align_of::<wasm_engine_t>() == std::mem::align_of::<wasmtime::Engine>());

/// Like `wasm_engine_new_with_config`, but returns wasmtime's error instead of panicking: the C
/// API calls `Engine::new(&config).unwrap()`, so a configuration wasmtime rejects (for example
/// `max_wasm_stack` of 0, or above the async stack size) would abort the host process. Consumes
/// `config` either way; on success `*out` owns the new engine (free with `wasm_engine_delete`).
#[unsafe(no_mangle)]
pub extern "C" fn wasmffi_engine_new(
    config: Box<wasm_config_t>,
    out: &mut *mut wasm_engine_t,
) -> Option<Box<wasmtime_error_t>> {
    *out = std::ptr::null_mut();
    // SAFETY: same layout (checked above); the allocation is freed with `Config`'s layout, which
    // is the wrapper's.
    let config: Box<wasmtime::Config> = unsafe { Box::from_raw(Box::into_raw(config).cast()) };
    match wasmtime::Engine::new(&config) {
        Ok(engine) => {
            // SAFETY: same layout (checked above); `wasm_engine_delete` drops it as the wrapper.
            *out = Box::into_raw(Box::new(engine)).cast();
            None
        }
        Err(error) => Some(Box::new(wasmtime_error_t::from(error))),
    }
}
