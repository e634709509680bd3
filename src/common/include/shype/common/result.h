// SPDX-License-Identifier: Apache-2.0
//
// Result<T> is shype's error-as-value type: a T, or an Error with a code to branch on and a
// message a person can act on. The alias over tl::expected keeps a later switch to std::expected
// a one-file change.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>

namespace shype {

// One small project-wide set of codes; api/ maps them to HTTP statuses in one table.
enum class ErrorCode : std::uint16_t {
  kInvalidArgument,   // bad input from a user, a file or a request
  kNotFound,          // a named thing does not exist
  kPermissionDenied,  // the policy (or the OS) says no
  kPolicyInvalid,     // a policy (XML or binary) is malformed or inconsistent
  kConflict,          // the request contradicts current state (Chinese Wall, duplicate name, ...)
  kIo,                // the file system or a socket failed
  kUnavailable,       // a service (daemon, QEMU) is not there or not ready
  kInternal,          // a bug in shype
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Returns a copy whose message is prefixed with `context: `.
  [[nodiscard]] Error WithContext(std::string_view context) const {
    return Error{code, fmt::format("{}: {}", context, message)};
  }
};

template <class T>
using Result = tl::expected<T, Error>;

// Builds the unexpected value of a Result from a code and a fmt-style message.
template <class... Args>
[[nodiscard]] tl::unexpected<Error> Fail(ErrorCode code, fmt::format_string<Args...> format,
                                         Args&&... args) {
  return tl::unexpected<Error>(Error{code, fmt::format(format, std::forward<Args>(args)...)});
}

[[nodiscard]] inline tl::unexpected<Error> Fail(Error error) {
  return tl::unexpected<Error>(std::move(error));
}

}  // namespace shype
