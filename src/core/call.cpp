// Call plans, the checked call path, trap classification and global access.
#include "wasmffi/call.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "wasmffi/engine.hpp"

namespace wasmffi {

const char* trap_kind_name(TrapKind kind) noexcept {
  switch (kind) {
    case TrapKind::StackOverflow: return "StackOverflow";
    case TrapKind::MemoryOutOfBounds: return "MemoryOutOfBounds";
    case TrapKind::HeapMisaligned: return "HeapMisaligned";
    case TrapKind::TableOutOfBounds: return "TableOutOfBounds";
    case TrapKind::IndirectCallToNull: return "IndirectCallToNull";
    case TrapKind::BadSignature: return "BadSignature";
    case TrapKind::IntegerOverflow: return "IntegerOverflow";
    case TrapKind::IntegerDivisionByZero: return "IntegerDivisionByZero";
    case TrapKind::BadConversionToInteger: return "BadConversionToInteger";
    case TrapKind::Unreachable: return "Unreachable";
    case TrapKind::Interrupt: return "Interrupt";
    case TrapKind::OutOfFuel: return "OutOfFuel";
    case TrapKind::Other: break;
  }
  return "Trap";
}

// By name, never by number: wasmtime renumbers its trap codes between releases.
static TrapKind classify(wasmtime_trap_code_t code) {
  switch (code) {
    case WASMTIME_TRAP_CODE_STACK_OVERFLOW: return TrapKind::StackOverflow;
    case WASMTIME_TRAP_CODE_MEMORY_OUT_OF_BOUNDS: return TrapKind::MemoryOutOfBounds;
    case WASMTIME_TRAP_CODE_HEAP_MISALIGNED: return TrapKind::HeapMisaligned;
    case WASMTIME_TRAP_CODE_TABLE_OUT_OF_BOUNDS: return TrapKind::TableOutOfBounds;
    case WASMTIME_TRAP_CODE_INDIRECT_CALL_TO_NULL: return TrapKind::IndirectCallToNull;
    case WASMTIME_TRAP_CODE_BAD_SIGNATURE: return TrapKind::BadSignature;
    case WASMTIME_TRAP_CODE_INTEGER_OVERFLOW: return TrapKind::IntegerOverflow;
    case WASMTIME_TRAP_CODE_INTEGER_DIVISION_BY_ZERO: return TrapKind::IntegerDivisionByZero;
    case WASMTIME_TRAP_CODE_BAD_CONVERSION_TO_INTEGER: return TrapKind::BadConversionToInteger;
    case WASMTIME_TRAP_CODE_UNREACHABLE_CODE_REACHED: return TrapKind::Unreachable;
    case WASMTIME_TRAP_CODE_INTERRUPT: return TrapKind::Interrupt;
    case WASMTIME_TRAP_CODE_OUT_OF_FUEL: return TrapKind::OutOfFuel;
    default: return TrapKind::Other;
  }
}

// Appends "wasm backtrace:" frames unless the engine's message already carries them.
static void append_trace(std::string& msg, const wasm_frame_vec_t& frames) {
  if (frames.size == 0 || msg.find("wasm backtrace") != std::string::npos) return;
  msg += "\nwasm backtrace:";
  for (size_t i = 0; i < frames.size; ++i) {
    const wasm_frame_t* f = frames.data[i];
    msg += "\n  " + std::to_string(i) + ": ";
    if (const wasm_name_t* mod = wasmtime_frame_module_name(f)) msg.append(mod->data, mod->size) += "!";
    if (const wasm_name_t* fn = wasmtime_frame_func_name(f))
      msg.append(fn->data, fn->size);
    else
      msg += "<wasm function " + std::to_string(wasm_frame_func_index(f)) + ">";
  }
}

// wasmtime formats traps as "error while executing at wasm backtrace: <frames> Caused by: <reason>".
// Users read the reason first: reorder to "<reason>\nwasm backtrace:\n<frames>".
static std::string headline_first(std::string msg) {
  const std::string caused = "Caused by:";
  const std::string intro = "error while executing at wasm backtrace:";
  size_t c = msg.rfind(caused);
  if (c == std::string::npos || msg.rfind(intro, 0) != 0) return msg;
  auto trim = [](std::string s) {
    size_t b = s.find_first_not_of(" \n\t"), e = s.find_last_not_of(" \n\t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  std::string reason = trim(msg.substr(c + caused.size()));
  std::string frames = trim(msg.substr(intro.size(), c - intro.size()));
  // Several causes come as "0: detail\n 1: wasm trap: reason": lead with the last (the trap),
  // keep the others as detail in parentheses.
  if (reason.rfind("0: ", 0) == 0) {
    std::vector<std::string> causes;
    size_t start = 0;
    while (start < reason.size()) {
      size_t end = reason.find('\n', start);
      std::string line = trim(reason.substr(start, end == std::string::npos ? std::string::npos : end - start));
      size_t colon = line.find(": ");
      if (colon != std::string::npos && colon > 0 &&
          line.find_first_not_of("0123456789") == colon)
        causes.push_back(line.substr(colon + 2));
      else if (!causes.empty())
        causes.back() += " " + line;
      if (end == std::string::npos) break;
      start = end + 1;
    }
    if (causes.size() > 1) {
      reason = causes.back() + " (";
      for (size_t i = 0; i + 1 < causes.size(); ++i) reason += (i ? "; " : "") + causes[i];
      reason += ")";
    }
  }
  return reason + "\nwasm backtrace:\n    " + frames;
}

Error call_failure(wasmtime_error_t* err, wasm_trap_t* trap) {
  if (trap != nullptr) {
    Error e{ErrorKind::Trap, {}, TrapKind::Other};
    wasm_message_t msg;
    wasm_trap_message(trap, &msg);
    // wasm_message_t is NUL-terminated; drop the terminator.
    e.message.assign(msg.data, msg.size > 0 && msg.data[msg.size - 1] == '\0' ? msg.size - 1 : msg.size);
    wasm_byte_vec_delete(&msg);
    e.message = headline_first(std::move(e.message));
    wasmtime_trap_code_t code;
    if (wasmtime_trap_code(trap, &code)) e.trap = classify(code);
    wasm_frame_vec_t frames;
    wasm_trap_trace(trap, &frames);
    append_trace(e.message, frames);
    wasm_frame_vec_delete(&frames);
    wasm_trap_delete(trap);
    if (err != nullptr) wasmtime_error_delete(err);
    return e;
  }
  // A trap raised by a host function (wasmtime_trap_new in a callback) arrives as an error
  // that carries a wasm backtrace: it is still a trap as far as the caller is concerned.
  wasm_frame_vec_t frames;
  wasmtime_error_wasm_trace(err, &frames);
  const bool in_wasm = frames.size > 0;
  wasm_frame_vec_delete(&frames);
  Error e = take_error(err, in_wasm ? ErrorKind::Trap : ErrorKind::Engine);
  if (in_wasm) e.message = headline_first(std::move(e.message));
  return e;
}

const char* marshal_name(Marshal m) noexcept {
  switch (m) {
    case Marshal::I32: return "i32";
    case Marshal::U32: return "u32";
    case Marshal::I64: return "i64";
    case Marshal::U64: return "u64";
    case Marshal::F32: return "f32";
    case Marshal::F64: return "f64";
    case Marshal::Unsupported: break;
  }
  return "unsupported";
}

Marshal default_marshal(ValKind k) noexcept {
  switch (k) {
    case ValKind::I32: return Marshal::I32;
    case ValKind::I64: return Marshal::I64;
    case ValKind::F32: return Marshal::F32;
    case ValKind::F64: return Marshal::F64;
    default: return Marshal::Unsupported;
  }
}

bool marshal_fits(Marshal m, ValKind k) noexcept {
  switch (m) {
    case Marshal::I32:
    case Marshal::U32: return k == ValKind::I32;
    case Marshal::I64:
    case Marshal::U64: return k == ValKind::I64;
    case Marshal::F32: return k == ValKind::F32;
    case Marshal::F64: return k == ValKind::F64;
    case Marshal::Unsupported: break;
  }
  return false;
}

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

static Result<void> check_marshals(const char* what, std::span<const Marshal> declared,
                                   const std::vector<ValKind>& kinds, std::vector<Marshal>& out) {
  if (declared.empty()) return {};
  if (declared.size() != kinds.size())
    return make_error(ErrorKind::Argument, std::string(what) + ": " + std::to_string(declared.size()) +
                                               " type(s) declared, the wasm function has " +
                                               std::to_string(kinds.size()));
  for (size_t i = 0; i < kinds.size(); ++i)
    if (!marshal_fits(declared[i], kinds[i]))
      return make_error(ErrorKind::Argument, std::string(what) + " " + std::to_string(i) + ": " +
                                                 marshal_name(declared[i]) + " does not fit wasm type " +
                                                 val_kind_name(kinds[i]));
  out.assign(declared.begin(), declared.end());
  return {};
}

Result<CallPlan> CallPlan::retyped(std::span<const Marshal> ps, std::span<const Marshal> rs) const {
  CallPlan plan = *this;
  if (auto r = check_marshals("parameter", ps, sig.params, plan.params); !r) return std::move(r).error();
  if (auto r = check_marshals("result", rs, sig.results, plan.results); !r) return std::move(r).error();
  return plan;
}

void store_raw(wasmtime_val_raw_t& slot, const Value& v) noexcept {
  slot = wasmtime_val_raw_t{};
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
