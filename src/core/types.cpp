// Describes wasm types from C API handles into the core's plain structs, and prints them.
#include "wasmffi/types.hpp"

#include <string>

// Defined by the shim crate (engine/src/lib.rs).
extern "C" uint8_t wasmffi_valtype_kind(const wasm_valtype_t* ty);

namespace wasmffi {

ValKind val_kind_of(const wasm_valtype_t* ty) noexcept { return val_kind_from_wasm(wasmffi_valtype_kind(ty)); }

const char* val_kind_name(ValKind kind) noexcept {
  switch (kind) {
    case ValKind::I32: return "i32";
    case ValKind::I64: return "i64";
    case ValKind::F32: return "f32";
    case ValKind::F64: return "f64";
    case ValKind::V128: return "v128";
    case ValKind::FuncRef: return "funcref";
    case ValKind::ExternRef: return "externref";
    case ValKind::AnyRef: return "anyref";
    case ValKind::ExnRef: return "exnref";
    case ValKind::Other: break;
  }
  return "unknown";
}

ValKind val_kind_from_wasm(wasm_valkind_t kind) noexcept {
  switch (kind) {
    case WASM_I32: return ValKind::I32;
    case WASM_I64: return ValKind::I64;
    case WASM_F32: return ValKind::F32;
    case WASM_F64: return ValKind::F64;
    case WASMTIME_V128: return ValKind::V128;
    case WASM_FUNCREF: return ValKind::FuncRef;
    case WASM_EXTERNREF: return ValKind::ExternRef;
    default: return ValKind::Other;
  }
}

const char* extern_kind_name(ExternKind kind) noexcept {
  switch (kind) {
    case ExternKind::Func: return "func";
    case ExternKind::Global: return "global";
    case ExternKind::Table: return "table";
    case ExternKind::Memory: return "memory";
    case ExternKind::Tag: return "tag";
    case ExternKind::Other: break;
  }
  return "unknown";
}

static std::string join(const std::vector<const char*>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i != 0) out += ", ";
    out += names[i];
  }
  return out;
}

std::string signature_text(const std::vector<const char*>& params, const std::vector<const char*>& results) {
  std::string out = "(";  // built by appending: GCC 12 warns (-Wrestrict) on "(" + std::string&&
  out += join(params);
  out += ") -> ";
  if (results.empty()) return out + "()";
  if (results.size() == 1) return out + results[0];
  return out + "(" + join(results) + ")";
}

static std::vector<const char*> kind_names(const std::vector<ValKind>& kinds) {
  std::vector<const char*> out;
  out.reserve(kinds.size());
  for (ValKind k : kinds) out.push_back(val_kind_name(k));
  return out;
}

std::string FuncSig::to_string() const { return signature_text(kind_names(params), kind_names(results)); }

static std::string limits_string(uint64_t min, bool has_max, uint64_t max) {
  std::string out = "min=" + std::to_string(min);
  if (has_max) out += ", max=" + std::to_string(max);
  return out;
}

std::string MemoryDesc::to_string() const {
  std::string out = std::string(is64 ? "memory64" : "memory") + "(" +
                    limits_string(min_pages, has_max, max_pages);
  if (shared) out += ", shared";
  return out + ")";
}

std::string GlobalDesc::to_string() const {
  std::string k = val_kind_name(content);
  return mutable_ ? "mut " + k : k;
}

std::string TableDesc::to_string() const {
  return std::string("table(") + val_kind_name(element) + ", " + limits_string(min, has_max, max) +
         ")";
}

std::string ExternDesc::type_string() const {
  switch (kind) {
    case ExternKind::Func: return func.to_string();
    case ExternKind::Global: return global.to_string();
    case ExternKind::Table: return table.to_string();
    case ExternKind::Memory: return memory.to_string();
    default: return extern_kind_name(kind);
  }
}

static std::vector<ValKind> kinds_of(const wasm_valtype_vec_t* vec) {
  std::vector<ValKind> out;
  out.reserve(vec->size);
  for (size_t i = 0; i < vec->size; ++i) out.push_back(val_kind_of(vec->data[i]));
  return out;
}

FuncSig describe(const wasm_functype_t* ty) {
  return FuncSig{kinds_of(wasm_functype_params(ty)), kinds_of(wasm_functype_results(ty))};
}

MemoryDesc describe(const wasm_memorytype_t* ty) {
  MemoryDesc d;
  d.min_pages = wasmtime_memorytype_minimum(ty);
  d.has_max = wasmtime_memorytype_maximum(ty, &d.max_pages);
  d.is64 = wasmtime_memorytype_is64(ty);
  d.shared = wasmtime_memorytype_isshared(ty);
  d.page_size = wasmtime_memorytype_page_size(ty);
  return d;
}

GlobalDesc describe(const wasm_globaltype_t* ty) {
  return GlobalDesc{val_kind_of(wasm_globaltype_content(ty)),
                    wasm_globaltype_mutability(ty) == WASM_VAR};
}

TableDesc describe(const wasm_tabletype_t* ty) {
  TableDesc d;
  d.element = val_kind_of(wasm_tabletype_element(ty));
  const wasm_limits_t* lim = wasm_tabletype_limits(ty);
  d.min = lim->min;
  d.has_max = lim->max != wasm_limits_max_default;
  d.max = lim->max;
  return d;
}

ExternDesc describe(const wasm_externtype_t* ty) {
  ExternDesc d;
  switch (wasm_externtype_kind(ty)) {
    case WASM_EXTERN_FUNC:
      d.kind = ExternKind::Func;
      d.func = describe(wasm_externtype_as_functype_const(ty));
      break;
    case WASM_EXTERN_GLOBAL:
      d.kind = ExternKind::Global;
      d.global = describe(wasm_externtype_as_globaltype_const(ty));
      break;
    case WASM_EXTERN_TABLE:
      d.kind = ExternKind::Table;
      d.table = describe(wasm_externtype_as_tabletype_const(ty));
      break;
    case WASM_EXTERN_MEMORY:
      d.kind = ExternKind::Memory;
      d.memory = describe(wasm_externtype_as_memorytype_const(ty));
      break;
    default:
      d.kind = ExternKind::Other;
  }
  return d;
}

}  // namespace wasmffi
