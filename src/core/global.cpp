// Exported globals: their type, and checked reads and writes of scalar values.
#include "wasmffi/global.hpp"

#include <string>

#include "wasmffi/engine.hpp"

namespace wasmffi {

GlobalDesc global_type(wasmtime_context_t* ctx, const wasmtime_global_t& g) {
  wasm_globaltype_t* ty = wasmtime_global_type(ctx, &g);
  GlobalDesc d = describe(ty);
  wasm_globaltype_delete(ty);
  return d;
}

Result<Value> global_get(wasmtime_context_t* ctx, const wasmtime_global_t& g) {
  // Check the type first: reading a reference-typed global aborts in an engine built without gc.
  if (GlobalDesc d = global_type(ctx, g); !is_scalar(d.content))
    return make_error(ErrorKind::Argument, std::string("global of type ") + val_kind_name(d.content) +
                                               " is not supported (only i32, i64, f32, f64)");
  wasmtime_val_t v;
  wasmtime_global_get(ctx, &g, &v);
  switch (v.kind) {
    case WASMTIME_I32: return Value::i32v(v.of.i32);
    case WASMTIME_I64: return Value::i64v(v.of.i64);
    case WASMTIME_F32: return Value::f32v(v.of.f32);
    case WASMTIME_F64: return Value::f64v(v.of.f64);
    default:
      wasmtime_val_unroot(&v);
      return make_error(ErrorKind::Argument, "global of a non-scalar type is not supported");
  }
}

Result<void> global_set(wasmtime_context_t* ctx, const wasmtime_global_t& g, const Value& v) {
  if (GlobalDesc d = global_type(ctx, g); d.content != v.kind)
    return make_error(ErrorKind::Argument, std::string("global of type ") + val_kind_name(d.content) +
                                               " cannot be set to a " + val_kind_name(v.kind));
  wasmtime_val_t val;
  switch (v.kind) {
    case ValKind::I32: val.kind = WASMTIME_I32; val.of.i32 = v.of.i32; break;
    case ValKind::I64: val.kind = WASMTIME_I64; val.of.i64 = v.of.i64; break;
    case ValKind::F32: val.kind = WASMTIME_F32; val.of.f32 = v.of.f32; break;
    case ValKind::F64: val.kind = WASMTIME_F64; val.of.f64 = v.of.f64; break;
    default: return make_error(ErrorKind::Argument, "global of a non-scalar type is not supported");
  }
  if (wasmtime_error_t* err = wasmtime_global_set(ctx, &g, &val)) return take_error(err, ErrorKind::Argument);
  return {};
}

}  // namespace wasmffi
