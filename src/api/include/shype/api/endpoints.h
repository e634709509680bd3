// SPDX-License-Identifier: Apache-2.0
//
// The API's operations, one table shared by the daemon (which routes them) and the CLI (which
// calls them): an operation name, its HTTP method and path template, and whether the CLI may run
// it offline. Parameters named in the path ({name}) come from the path; the others travel as the
// JSON body (or query for GET).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "shype/api/wire.h"

namespace shype::api {

// Whether the CLI may carry out an operation without shyped, on the state directory through the
// admin service (security administration), and whether it then writes there.
enum class OfflineUse : std::uint8_t {
  kNeedsDaemon,  // domains, audit, statistics: refused offline before the state is touched
  kReads,        // reads the state; creates and changes nothing (a missing state reads as fresh)
  kWrites,       // writes the state under its lock (policy and resource-label changes)
};

struct Endpoint {
  std::string_view op;      // e.g. "domain.create"
  std::string_view method;  // "GET", "POST", "PUT", "DELETE"
  std::string_view path;    // e.g. "/v1/domains/{name}/pause"
  OfflineUse offline;       // what the CLI may do with it when no shyped runs
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
