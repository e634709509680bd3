// SPDX-License-Identifier: Apache-2.0
//
// The API's operations, one table shared by the daemon (which routes them) and the CLI (which
// calls them): an operation name, its HTTP method and path template. Parameters named in the
// path ({name}) come from the path; the others travel as the JSON body (or query for GET).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "shype/api/wire.h"

namespace shype::api {

struct Endpoint {
  std::string_view op;      // e.g. "domain.create"
  std::string_view method;  // "GET", "POST", "PUT", "DELETE"
  std::string_view path;    // e.g. "/v1/domains/{name}/pause"
};

// Every operation of the API (docs/api.md describes each).
std::span<const Endpoint> Endpoints();
std::optional<Endpoint> FindEndpoint(std::string_view op);

// Builds the request target for `endpoint` from `params`: path parameters are substituted (and
// removed from the returned body); for GET/DELETE the rest become the query string.
struct Target {
  std::string target;
  std::optional<Json> body;
};
[[nodiscard]] Result<Target> BuildTarget(const Endpoint& endpoint, const Json& params);

}  // namespace shype::api
