// Errors as values: every fallible core operation returns Result<T>; only the binding throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace wasmffi {

// What went wrong, coarse enough for the binding to pick an exception class.
enum class ErrorKind : uint8_t {
  Compile,       // invalid wasm bytes or WAT text
  Link,          // instantiation: missing or mismatched imports
  Trap,          // the guest trapped; see TrapKind
  MemoryAccess,  // an address/length outside guest memory (or negative / overflowing)
  Argument,      // a value that does not fit the declared type
  Resource,      // the engine could not get memory: a grow or an instance's reservation failed
  Exit,          // WASI's proc_exit ended the call; Error::exit_code is the status
  Engine,        // anything else the engine reported
};

// Trap kinds the project names. Mapped from wasmtime's trap codes by their *names* in
// wasmtime/trap.h (see src/core/trap.cpp): the numbers change between wasmtime versions.
enum class TrapKind : uint8_t {
  Other,
  StackOverflow,
  MemoryOutOfBounds,
  TableOutOfBounds,
  IndirectCallToNull,
  BadSignature,
  IntegerOverflow,
  IntegerDivisionByZero,
  BadConversionToInteger,
  Unreachable,
  Interrupt,
  OutOfFuel,
  Cancelled,  // an Interrupt asked for by Store::request_cancel (Python: Cancelled, an Interrupt)
};

const char* trap_kind_name(TrapKind kind) noexcept;

struct Error {
  ErrorKind kind;
  std::string message;
  TrapKind trap = TrapKind::Other;  // meaningful only when kind == ErrorKind::Trap
  int exit_code = 0;                // meaningful only when kind == ErrorKind::Exit
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}     // NOLINT
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)) {}  // NOLINT
  bool ok() const noexcept { return !err_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const& { return *err_; }
  Error&& error() && { return std::move(*err_); }

 private:
  std::optional<Error> err_;
};

inline Error make_error(ErrorKind kind, std::string message) {
  return Error{kind, std::move(message), TrapKind::Other};
}

// wasmtime reports a failed memory reservation (mmap) as a plain error: recognised by its text,
// so instantiation can tell "out of address space" (Resource) from a link failure.
inline bool is_resource_exhaustion(const std::string& message) noexcept {
  for (const char* s : {"failed to reserve", "Cannot allocate memory", "out of memory", "os error 12"})
    if (message.find(s) != std::string::npos) return true;
  return false;
}

}  // namespace wasmffi
