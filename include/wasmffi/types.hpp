// The wasm type model the core exposes: value kinds, function signatures and extern descriptions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <wasmtime.h>

namespace wasmffi {

// Value kinds, cached once per signature so the call path compares small enums only.
enum class ValKind : uint8_t { I32, I64, F32, F64, V128, FuncRef, ExternRef, AnyRef, ExnRef, Other };

const char* val_kind_name(ValKind kind) noexcept;
ValKind val_kind_from_wasm(wasm_valkind_t kind) noexcept;
// Never aborts (unlike wasm_valtype_kind on v128 or typed references): see engine/src/lib.rs.
ValKind val_kind_of(const wasm_valtype_t* ty) noexcept;
// True for the four numeric kinds the scalar marshallers handle.
constexpr bool is_scalar(ValKind k) noexcept { return k <= ValKind::F64; }

// The one producer of signature text, "(i32, i32) -> i32", "() -> (f32, f64)", "(i64) -> ()":
// FuncSig, CallPlan (declared u32/u64) and Python's FuncType.__str__ (through _core) all use it.
std::string signature_text(const std::vector<const char*>& params, const std::vector<const char*>& results);

struct FuncSig {
  std::vector<ValKind> params;
  std::vector<ValKind> results;
  std::string to_string() const;  // "(i32, i32) -> i32"
};

// A typed scalar value, for globals and the checked (slow) call path used by tests.
struct Value {
  ValKind kind = ValKind::I32;
  union {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
  } of{};
  static Value i32v(int32_t v) { Value x; x.kind = ValKind::I32; x.of.i32 = v; return x; }
  static Value i64v(int64_t v) { Value x; x.kind = ValKind::I64; x.of.i64 = v; return x; }
  static Value f32v(float v) { Value x; x.kind = ValKind::F32; x.of.f32 = v; return x; }
  static Value f64v(double v) { Value x; x.kind = ValKind::F64; x.of.f64 = v; return x; }
};

struct MemoryDesc {
  uint64_t min_pages = 0;
  bool has_max = false;
  uint64_t max_pages = 0;
  bool is64 = false;
  bool shared = false;
  uint64_t page_size = 65536;
  std::string to_string() const;
};

struct GlobalDesc {
  ValKind content = ValKind::I32;
  bool mutable_ = false;
  std::string to_string() const;
};

struct TableDesc {
  ValKind element = ValKind::FuncRef;
  uint64_t min = 0;
  bool has_max = false;
  uint64_t max = 0;
  std::string to_string() const;
};

enum class ExternKind : uint8_t { Func, Global, Table, Memory, Tag, Other };
const char* extern_kind_name(ExternKind kind) noexcept;

// One import or export of a module, described without any store.
struct ExternDesc {
  std::string module;  // import module name; empty for exports
  std::string name;
  ExternKind kind = ExternKind::Other;
  FuncSig func;
  MemoryDesc memory;
  GlobalDesc global;
  TableDesc table;
  std::string type_string() const;
};

// Builders from wasm C API type handles (borrowed, not consumed).
FuncSig describe(const wasm_functype_t* ty);
MemoryDesc describe(const wasm_memorytype_t* ty);
GlobalDesc describe(const wasm_globaltype_t* ty);
TableDesc describe(const wasm_tabletype_t* ty);
ExternDesc describe(const wasm_externtype_t* ty);

}  // namespace wasmffi
