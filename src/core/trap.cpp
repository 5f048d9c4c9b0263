// Trap handling: names the trap kinds and turns a failed call (error or trap) into an Error
// whose message leads with the reason and ends with the wasm backtrace.
#include "wasmffi/trap.hpp"

#include <string>
#include <vector>

#include "wasmffi/engine.hpp"

namespace wasmffi {

const char* trap_kind_name(TrapKind kind) noexcept {
  switch (kind) {
    case TrapKind::StackOverflow: return "StackOverflow";
    case TrapKind::MemoryOutOfBounds: return "MemoryOutOfBounds";
    case TrapKind::TableOutOfBounds: return "TableOutOfBounds";
    case TrapKind::IndirectCallToNull: return "IndirectCallToNull";
    case TrapKind::BadSignature: return "BadSignature";
    case TrapKind::IntegerOverflow: return "IntegerOverflow";
    case TrapKind::IntegerDivisionByZero: return "IntegerDivisionByZero";
    case TrapKind::BadConversionToInteger: return "BadConversionToInteger";
    case TrapKind::Unreachable: return "Unreachable";
    case TrapKind::Interrupt: return "Interrupt";
    case TrapKind::OutOfFuel: return "OutOfFuel";
    case TrapKind::Cancelled: return "Cancelled";
    case TrapKind::Other: break;
  }
  return "Trap";
}

// By name, never by number: wasmtime renumbers its trap codes between releases.
static TrapKind classify(wasmtime_trap_code_t code) {
  switch (code) {
    case WASMTIME_TRAP_CODE_STACK_OVERFLOW: return TrapKind::StackOverflow;
    case WASMTIME_TRAP_CODE_MEMORY_OUT_OF_BOUNDS: return TrapKind::MemoryOutOfBounds;
    // WASMTIME_TRAP_CODE_HEAP_MISALIGNED (a misaligned atomic access) has no kind of its own: the
    // engine is built without the threads proposal, so no module with atomics compiles.
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
  // WASI's proc_exit (exit() in C) ends the call with an error that carries the status: the
  // program's own decision, not a failure of the guest.
  if (int status = 0; wasmtime_error_exit_status(err, &status)) {
    Error e{ErrorKind::Exit, "the WASI program exited with status " + std::to_string(status)};
    e.exit_code = status;
    wasmtime_error_delete(err);
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

}  // namespace wasmffi
