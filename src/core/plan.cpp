// Call plans (a signature resolved once into marshalling units) and the checked, allocating call path.
#include "wasmffi/call.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace wasmffi {

CallPlan CallPlan::for_func(wasmtime_context_t* ctx, const wasmtime_func_t& func) {
  CallPlan plan;
  wasm_functype_t* ty = wasmtime_func_type(ctx, &func);
  plan.sig = describe(ty);
  wasm_functype_delete(ty);
  plan.raw_len = std::max(plan.sig.params.size(), plan.sig.results.size());
  plan.all_scalar = true;
  for (ValKind k : plan.sig.params) {
    plan.params.push_back(default_marshal(k));
    plan.all_scalar &= is_scalar(k);
  }
  for (ValKind k : plan.sig.results) {
    plan.results.push_back(default_marshal(k));
    plan.all_scalar &= is_scalar(k);
  }
  return plan;
}

static Result<void> check_marshals(const char* what, const std::optional<std::vector<Marshal>>& declared,
                                   const std::vector<ValKind>& kinds, std::vector<Marshal>& out) {
  if (!declared) return {};
  if (declared->size() != kinds.size())
    return make_error(ErrorKind::Argument, std::string(what) + "s: " + std::to_string(declared->size()) +
                                               " type(s) declared, the wasm function has " +
                                               std::to_string(kinds.size()));
  for (size_t i = 0; i < kinds.size(); ++i)
    if (!marshal_fits((*declared)[i], kinds[i]))
      return make_error(ErrorKind::Argument, std::string(what) + " " + std::to_string(i) + ": " +
                                                 marshal_name((*declared)[i]) + " does not fit wasm type " +
                                                 val_kind_name(kinds[i]));
  out = *declared;
  return {};
}

Result<CallPlan> CallPlan::retyped(const std::optional<std::vector<Marshal>>& ps,
                                   const std::optional<std::vector<Marshal>>& rs) const {
  CallPlan plan = *this;
  if (auto r = check_marshals("parameter", ps, sig.params, plan.params); !r) return std::move(r).error();
  if (auto r = check_marshals("result", rs, sig.results, plan.results); !r) return std::move(r).error();
  return plan;
}

static std::vector<const char*> marshal_names(const std::vector<Marshal>& ms) {
  std::vector<const char*> out;
  out.reserve(ms.size());
  for (Marshal m : ms) out.push_back(marshal_name(m));
  return out;
}

std::string CallPlan::to_string() const { return signature_text(marshal_names(params), marshal_names(results)); }

void store_raw(wasmtime_val_raw_t& slot, const Value& v) noexcept {
  std::memset(&slot, 0, sizeof slot);  // `slot = {}` clears only the first member under clang
  switch (v.kind) {
    case ValKind::I32: slot.i32 = v.of.i32; break;
    case ValKind::I64: slot.i64 = v.of.i64; break;
    case ValKind::F32: slot.f32 = v.of.f32; break;
    case ValKind::F64: slot.f64 = v.of.f64; break;
    default: break;
  }
}

Value load_raw(const wasmtime_val_raw_t& slot, ValKind kind) noexcept {
  switch (kind) {
    case ValKind::I64: return Value::i64v(slot.i64);
    case ValKind::F32: return Value::f32v(slot.f32);
    case ValKind::F64: return Value::f64v(slot.f64);
    default: return Value::i32v(slot.i32);
  }
}

Result<std::vector<Value>> call(wasmtime_context_t* ctx, const wasmtime_func_t& func,
                                const CallPlan& plan, std::span<const Value> args) {
  if (!plan.all_scalar)
    return make_error(ErrorKind::Argument, "signature " + plan.sig.to_string() + " has non-scalar types");
  if (args.size() != plan.sig.params.size())
    return make_error(ErrorKind::Argument, "expected " + std::to_string(plan.sig.params.size()) +
                                               " argument(s), got " + std::to_string(args.size()));
  std::vector<wasmtime_val_raw_t> raw(plan.raw_len);
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].kind != plan.sig.params[i])
      return make_error(ErrorKind::Argument, "argument " + std::to_string(i) + " must be " +
                                                 val_kind_name(plan.sig.params[i]));
    store_raw(raw[i], args[i]);
  }
  if (auto r = call_unchecked(ctx, func, raw.data(), raw.size()); !r) return std::move(r).error();
  std::vector<Value> out;
  out.reserve(plan.sig.results.size());
  for (size_t i = 0; i < plan.sig.results.size(); ++i) out.push_back(load_raw(raw[i], plan.sig.results[i]));
  return out;
}

}  // namespace wasmffi
