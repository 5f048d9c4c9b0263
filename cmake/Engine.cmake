# Builds the shim crate in engine/ with cargo and exposes it as the imported target wasmffi::wasmtime.
# Cargo's target dir lives outside the checkout (under ~/.cache/wasmffi/cargo-target) so that
# clean clones, CI runs and every build directory share one warm engine build.

find_program(CARGO_EXECUTABLE cargo HINTS "$ENV{HOME}/.cargo/bin")
if(NOT CARGO_EXECUTABLE)
  # Reached by `pip install wasmffi-*.tar.gz` on a machine without Rust: say what to do in one sentence.
  message(FATAL_ERROR "wasmffi builds its engine (wasmtime) from source with cargo, which is neither "
          "on PATH nor in ~/.cargo/bin: install Rust 1.95 or newer with rustup "
          "(curl --proto '=https' -sSf https://sh.rustup.rs | sh) and retry, or install a wasmffi "
          "wheel, which needs no compiler.")
endif()

# One target dir per engine configuration: the directory name is a hash of what decides the
# engine (manifest, lock file, shim sources). Checkouts that share a configuration share one warm
# build; a checkout that changes features or profiles gets its own directory, so it can never
# overwrite the archive and headers another checkout links (one shared directory did exactly that:
# undefined symbols, and once a wasmtime_val_t layout mismatch).
set(WASMFFI_CARGO_CACHE "$ENV{HOME}/.cache/wasmffi/cargo-target" CACHE PATH
    "parent of the per-configuration cargo target dirs (kept outside the checkout)")
set(_engine_inputs
  "${CMAKE_CURRENT_SOURCE_DIR}/engine/Cargo.toml"
  "${CMAKE_CURRENT_SOURCE_DIR}/engine/Cargo.lock"
  "${CMAKE_CURRENT_SOURCE_DIR}/engine/build.rs"
  "${CMAKE_CURRENT_SOURCE_DIR}/engine/src/lib.rs"
  "${CMAKE_CURRENT_SOURCE_DIR}/engine/patch_crates.py")
set(_engine_key "")
foreach(_input IN LISTS _engine_inputs)
  file(SHA256 "${_input}" _digest)
  string(APPEND _engine_key "${_digest}")
endforeach()
string(SHA256 _engine_key "${_engine_key}")
string(SUBSTRING "${_engine_key}" 0 16 _engine_key)
# Re-run the configure step (and so re-key) whenever one of those files changes.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_engine_inputs})
# (Older build dirs cached one fixed WASMFFI_CARGO_TARGET_DIR; drop it so the key always wins.)
unset(WASMFFI_CARGO_TARGET_DIR CACHE)
set(WASMFFI_CARGO_TARGET_DIR "${WASMFFI_CARGO_CACHE}/${_engine_key}")
message(STATUS "wasmffi engine: cargo target dir ${WASMFFI_CARGO_TARGET_DIR}")
set(_engine_lib "${WASMFFI_CARGO_TARGET_DIR}/release/libwasmffi_engine.a")

# Crates the engine builds with a change of ours (engine/patch_crates.py says which and why): the
# script unpacks each from crates.io into the target dir, patches it and prints the `--config`
# values that point cargo's [patch.crates-io] there. engine/Cargo.lock records those crates as
# path packages, so every cargo run on engine/ needs the values. The script runs here, to learn
# them, and again before every cargo build, where it only checks its stamp (a few ms), so a
# deleted patch dir is rebuilt instead of failing the build.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
set(_patch_command "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_SOURCE_DIR}/engine/patch_crates.py"
    "${WASMFFI_CARGO_TARGET_DIR}/patched")
execute_process(COMMAND ${_patch_command}
  OUTPUT_VARIABLE _patch_configs ERROR_VARIABLE _patch_error RESULT_VARIABLE _patch_result
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _patch_result EQUAL 0)
  message(FATAL_ERROR "engine/patch_crates.py failed: ${_patch_error}")
endif()
set(_cargo_patch_args "")
string(REPLACE "\n" ";" _patch_configs "${_patch_configs}")
foreach(_config IN LISTS _patch_configs)
  list(APPEND _cargo_patch_args --config "${_config}")
endforeach()
set(_engine_include "${WASMFFI_CARGO_TARGET_DIR}/include")

# Always ask cargo: a warm no-op build takes well under a second and cargo knows what changed.
# The compiler variables are unset because wasmtime's build script tracks them: pip's build
# environment sets CC=gcc and a plain cmake run does not, and that difference alone made every
# switch between `make build` and `make cpp-test` recompile wasmtime (15 s each way).
add_custom_target(wasmffi_engine_build
  COMMAND ${_patch_command}
  COMMAND ${CMAKE_COMMAND} -E env
          --unset=CC --unset=CXX --unset=CFLAGS --unset=CXXFLAGS --unset=AR
          CARGO_TARGET_DIR=${WASMFFI_CARGO_TARGET_DIR}
          WASMFFI_HEADERS_OUT=${_engine_include}
          ${CARGO_EXECUTABLE} build --release --locked ${_cargo_patch_args}
          --manifest-path ${CMAKE_CURRENT_SOURCE_DIR}/engine/Cargo.toml
  BYPRODUCTS "${_engine_lib}"
  WORKING_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}/engine"
  COMMENT "cargo build: wasmtime C API (engine/)"
  USES_TERMINAL
  VERBATIM)

file(MAKE_DIRECTORY "${_engine_include}")
add_library(wasmffi_wasmtime STATIC IMPORTED GLOBAL)
set_target_properties(wasmffi_wasmtime PROPERTIES
  IMPORTED_LOCATION "${_engine_lib}"
  INTERFACE_INCLUDE_DIRECTORIES "${_engine_include}")
find_package(Threads REQUIRED)
target_link_libraries(wasmffi_wasmtime INTERFACE Threads::Threads ${CMAKE_DL_LIBS} m)
add_dependencies(wasmffi_wasmtime wasmffi_engine_build)
add_library(wasmffi::wasmtime ALIAS wasmffi_wasmtime)
