// SPDX-License-Identifier: Apache-2.0
//
// Which of shyped's operations the browser may reach through `/api/v1/...`: those of
// api::Endpoints() but domain.save and domain.restore (root's, naming host files shyped opens).
// Matched by method and path template, as shyped's router does. Pure functions.
#pragma once

#include <string_view>

#include "shype/api/endpoints.h"

namespace shype::web {

// The prefix of forwarded requests: /api/v1/x goes to shyped's /v1/x.
inline constexpr std::string_view kApiPrefix = "/api";

// True for the operations never forwarded.
bool IsWithheld(std::string_view op);

// The operation `method` + `path` (shyped's path, "/v1/...", still percent-encoded) names.
// Errors: kNotFound (no such operation), kPermissionDenied (withheld), kInvalidArgument (a path
// parameter that is malformed or not UTF-8).
[[nodiscard]] Result<api::Endpoint> FindForwarded(std::string_view method, std::string_view path);

}  // namespace shype::web
