// SPDX-License-Identifier: Apache-2.0
//
// A Backend decorator that refuses operation parameters which are not UTF-8 text (a Latin-1 file
// name, a resource name from a script) before either backend sees them: the request is never
// sent half-encoded and nothing offline is changed. Not thread-safe (as Backend).
#pragma once

#include <memory>

#include "backend.h"

namespace shype::cli {

std::unique_ptr<Backend> WithTextChecks(std::unique_ptr<Backend> inner);

}  // namespace shype::cli
