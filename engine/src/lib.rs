//! Re-exports wasmtime's C API so that this crate's static library carries every `wasm_*` and
//! `wasmtime_*` symbol the C++ core links against.
pub use wasmtime_c_api::*;
