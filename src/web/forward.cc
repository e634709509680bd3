// SPDX-License-Identifier: Apache-2.0
//
// The operations `shype web` forwards to shyped.
#include "forward.h"

#include <string>
#include <vector>

#include "shype/api/target.h"
#include "shype/api/text.h"

namespace shype::web {

bool IsWithheld(std::string_view op) {
  // SECURITY: save and restore make shyped (root) write or read a host file named in the
  // request; the web process is a browser's proxy and gets no path on the host.
  return op == "domain.save" || op == "domain.restore";
}

Result<api::Endpoint> FindForwarded(std::string_view method, std::string_view path) {
  const std::vector<std::string> segments = api::SplitPath(path);
  for (const api::Endpoint& endpoint : api::Endpoints()) {
    if (endpoint.method != method) continue;
    auto match = api::MatchPath(api::SplitPath(endpoint.path), segments);
    if (!match) return Fail(match.error());
    if (!*match) continue;
    if (IsWithheld(endpoint.op)) {
      return Fail(ErrorCode::kPermissionDenied,
                  "{} is not available through shype web (shyped would open a file on the host "
                  "as root); run `shype {}` on the host",
                  endpoint.op, endpoint.op == "domain.save" ? "save" : "restore");
    }
    return endpoint;
  }
  return Fail(ErrorCode::kNotFound, "{} {}{}: no such operation of shyped's API (docs/api.md)",
              api::EscapeBytes(method), kApiPrefix, api::EscapeBytes(path));
}

}  // namespace shype::web
