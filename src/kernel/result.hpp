#pragma once

// Errors are values in the kernel: a function that can fail returns Result<T>, holding
// either a T or the Errno Linux would give. TRY(expr) returns the error from the enclosing
// function, or yields the value (a GNU statement expression, which g++ and clang accept).

#include <cassert>
#include <type_traits>
#include <utility>

#include "ossim/sys/errno.hpp"

namespace ossim::kernel {

using sys::Errno;

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)), error_(Errno{}) {}  // NOLINT: implicit by design
  Result(Errno error) : error_(error) { assert(error != Errno{}); }  // NOLINT
  bool ok() const { return error_ == Errno{}; }
  explicit operator bool() const { return ok(); }
  Errno error() const { return error_; }
  T& value() & {
    assert(ok());
    return value_;
  }
  const T& value() const& {
    assert(ok());
    return value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(value_);
  }
  T value_or(T fallback) const { return ok() ? value_ : fallback; }

 private:
  T value_{};
  Errno error_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() : error_(Errno{}) {}
  Result(Errno error) : error_(error) { assert(error != Errno{}); }  // NOLINT
  bool ok() const { return error_ == Errno{}; }
  explicit operator bool() const { return ok(); }
  Errno error() const { return error_; }
  void value() const {}

 private:
  Errno error_;
};

using Status = Result<void>;

}  // namespace ossim::kernel

#define OSSIM_TRY(expr)                            \
  ({                                               \
    auto ossim_try_result_ = (expr);               \
    if (!ossim_try_result_.ok()) return ossim_try_result_.error(); \
    std::move(ossim_try_result_).value();          \
  })
