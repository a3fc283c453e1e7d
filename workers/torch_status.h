// LibTorch reports errors by throwing (c10::Error); kdnas modules return
// Status. CatchTorchErrors runs a function at a module boundary and turns
// anything it throws into INTERNAL, so no exception reaches the lease loop.
#pragma once

#include <c10/util/Exception.h>

#include <exception>
#include <string>

#include "search/status.h"

namespace kdnas {

// The first line of a LibTorch message (the rest is a C++ backtrace).
inline std::string TorchErrorText(const c10::Error& e) {
  std::string what = e.what_without_backtrace();
  return what.substr(0, what.find('\n'));
}

// f returns Status or StatusOr<T>; `what` prefixes the message, e.g.
// "run-candidate".
template <typename F>
auto CatchTorchErrors(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    return Internal(what + ": " + TorchErrorText(e));
  } catch (const std::exception& e) {
    return Internal(what + ": " + e.what());
  }
}

}  // namespace kdnas
