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
