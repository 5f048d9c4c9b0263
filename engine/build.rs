//! Copies the C headers that `wasmtime-c-api-impl` exposes (DEP_WASMTIME_C_API_INCLUDE) to the
//! directory CMake names in WASMFFI_HEADERS_OUT, so the C++ core compiles against exactly the
//! headers of the engine it links.
use std::path::{Path, PathBuf};
use std::{env, fs};

fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).expect("create header dir");
    for entry in fs::read_dir(src).expect("read header dir") {
        let entry = entry.expect("dir entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            fs::copy(entry.path(), &to).expect("copy header");
        }
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=WASMFFI_HEADERS_OUT");
    let src = PathBuf::from(
        env::var("DEP_WASMTIME_C_API_INCLUDE").expect("wasmtime-c-api-impl exposes its include dir"),
    );
    let dst = match env::var("WASMFFI_HEADERS_OUT") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => PathBuf::from(env::var("OUT_DIR").unwrap()).join("include"),
    };
    copy_tree(&src, &dst);
}
