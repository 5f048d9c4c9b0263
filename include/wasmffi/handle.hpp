// One RAII pattern for every owned wasmtime handle: move-only, capi() to borrow, release() to give up.
#pragma once

#include <utility>

namespace wasmffi {

template <class T, void (*Delete)(T*)>
class Owned {
 public:
  Owned() = default;
  explicit Owned(T* raw) noexcept : raw_(raw) {}
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  Owned(Owned&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
  Owned& operator=(Owned&& other) noexcept {
    if (this != &other) {
      reset();
      raw_ = std::exchange(other.raw_, nullptr);
    }
    return *this;
  }
  ~Owned() { reset(); }

  T* capi() const noexcept { return raw_; }
  T* release() noexcept { return std::exchange(raw_, nullptr); }
  explicit operator bool() const noexcept { return raw_ != nullptr; }
  void reset() noexcept {
    if (raw_ != nullptr) Delete(std::exchange(raw_, nullptr));
  }

 private:
  T* raw_ = nullptr;
};

}  // namespace wasmffi
