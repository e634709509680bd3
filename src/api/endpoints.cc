// SPDX-License-Identifier: Apache-2.0
//
// The table of API operations and request-target construction.
#include "shype/api/endpoints.h"

#include "shype/api/client.h"
#include "shype/api/text.h"

namespace shype::api {
namespace {

constexpr Endpoint kEndpoints[] = {
    {"version", "GET", "/v1/version"},
    {"policy.get", "GET", "/v1/policy"},
    {"policy.set", "PUT", "/v1/policy"},
    {"policy.reset", "POST", "/v1/policy/reset"},
    {"policy.dump", "GET", "/v1/policy/dump"},
    {"labels", "GET", "/v1/labels"},
    {"resources", "GET", "/v1/resources"},
    {"resource.label.get", "GET", "/v1/resource-labels"},
    {"resource.label.add", "POST", "/v1/resource-labels"},
    {"resource.label.remove", "DELETE", "/v1/resource-labels"},
    {"dry-run", "POST", "/v1/dry-run"},
    {"stats", "GET", "/v1/stats"},
    {"domain.list", "GET", "/v1/domains"},
    {"domain.create", "POST", "/v1/domains"},
    {"domain.info", "GET", "/v1/domains/{name}"},
    {"domain.shutdown", "POST", "/v1/domains/{name}/shutdown"},
    {"domain.destroy", "POST", "/v1/domains/{name}/destroy"},
    {"domain.pause", "POST", "/v1/domains/{name}/pause"},
    {"domain.unpause", "POST", "/v1/domains/{name}/unpause"},
    {"domain.console-log", "GET", "/v1/domains/{name}/console-log"},
    {"audit", "GET", "/v1/audit"},
};

std::string QueryValue(const Json& value) {
  return value.is_string() ? value.get<std::string>() : DumpJson(value);
}

}  // namespace

std::span<const Endpoint> Endpoints() { return kEndpoints; }

std::optional<Endpoint> FindEndpoint(std::string_view op) {
  for (const Endpoint& e : kEndpoints) {
    if (e.op == op) return e;
  }
  return std::nullopt;
}

Result<Target> BuildTarget(const Endpoint& endpoint, const Json& params) {
  Json rest = params.is_object() ? params : Json::object();
  std::string target;
  std::string_view path = endpoint.path;
  for (std::size_t pos = 0; pos < path.size();) {
    std::size_t open = path.find('{', pos);
    if (open == std::string_view::npos) {
      target += path.substr(pos);
      break;
    }
    std::size_t close = path.find('}', open);
    target += path.substr(pos, open - pos);
    std::string name(path.substr(open + 1, close - open - 1));
    if (!rest.contains(name) || !rest[name].is_string()) {
      return Fail(ErrorCode::kInvalidArgument, "{}: parameter '{}' is required", endpoint.op, name);
    }
    target += UrlEncode(rest[name].get<std::string>());
    rest.erase(name);
    pos = close + 1;
  }
  if (endpoint.method == "GET" || endpoint.method == "DELETE") {
    char sep = '?';
    for (auto& [key, value] : rest.items()) {
      target += sep + UrlEncode(key) + "=" + UrlEncode(QueryValue(value));
      sep = '&';
    }
    return Target{target, std::nullopt};
  }
  return Target{target, rest};
}

}  // namespace shype::api
