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

/// The rayon pool compilation runs on, with the id of the process that made it. wasmtime's
/// parallel compilation otherwise uses rayon's global pool, whose threads do not survive
/// `fork()`: a forked child (multiprocessing's default start method on Linux) that compiles
/// then waits forever for workers that are not there. A pool made by another process id is
/// abandoned (leaked: its threads are gone, so there is nothing to join) and a new one made.
struct CompilePool {
    pid: u32,
    pool: rayon::ThreadPool,
}

static COMPILE_POOL: std::sync::atomic::AtomicPtr<CompilePool> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

fn compile_pool() -> Option<&'static rayon::ThreadPool> {
    use std::sync::atomic::Ordering;
    let pid = std::process::id();
    let current = COMPILE_POOL.load(Ordering::Acquire);
    // SAFETY: a non-null pointer is a leaked Box that is never freed.
    if let Some(entry) = unsafe { current.as_ref() } {
        if entry.pid == pid {
            return Some(&entry.pool);
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("wasmffi-compile-{i}"))
        .build()
        .ok()?;
    let fresh = Box::into_raw(Box::new(CompilePool { pid, pool }));
    match COMPILE_POOL.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: just published, never freed.
        Ok(_) => Some(unsafe { &(*fresh).pool }),
        Err(winner) => {
            // Another thread of this process made one first: use it, drop ours.
            // SAFETY: `fresh` was never published; `winner` is a leaked Box.
            drop(unsafe { Box::from_raw(fresh) });
            let entry = unsafe { &*winner };
            if entry.pid == pid { Some(&entry.pool) } else { None }
        }
    }
}

struct SendPtrs(*const wasm_engine_t, *const u8, usize, *mut *mut wasmtime_module_t);
// SAFETY: the pointers are only used inside `install`, which blocks the caller until the
// closure returns, so they stay valid; wasmtime's engine is Sync.
unsafe impl Send for SendPtrs {}

/// `wasmtime_module_new` run on the fork-safe compile pool (see `CompilePool`); same contract.
/// Without a pool (its threads could not be started) it compiles on the caller's thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasmffi_module_new(
    engine: &wasm_engine_t,
    wasm: *const u8,
    len: usize,
    out: &mut *mut wasmtime_module_t,
) -> Option<Box<wasmtime_error_t>> {
    let args = SendPtrs(engine, wasm, len, out);
    let run = move || {
        let a = args;
        // SAFETY: the caller's pointers, valid for the duration of this call (see SendPtrs).
        unsafe { wasmtime_module_new(&*a.0, a.1, a.2, &mut *a.3) }
    };
    match compile_pool() {
        Some(pool) => pool.install(run),
        None => run(),
    }
}
