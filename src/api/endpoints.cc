// SPDX-License-Identifier: Apache-2.0
//
// The table of API operations and request-target construction.
#include "shype/api/endpoints.h"

#include "shype/api/client.h"
#include "shype/api/command.h"
#include "shype/api/text.h"

namespace shype::api {
namespace {

constexpr Endpoint kEndpoints[] = {
    {"version", "GET", "/v1/version", OfflineUse::kNeedsDaemon},
    {"policy.get", "GET", "/v1/policy", OfflineUse::kReads},
    {"policy.set", "PUT", "/v1/policy", OfflineUse::kWrites},
    {"policy.reset", "POST", "/v1/policy/reset", OfflineUse::kWrites},
    {"policy.dump", "GET", "/v1/policy/dump", OfflineUse::kReads},
    {"policy.save", "POST", "/v1/policy/versions", OfflineUse::kWrites},
    {"policy.versions", "GET", "/v1/policy/versions", OfflineUse::kReads},
    {"policy.version.get", "GET", "/v1/policy/versions/{name}/{version}", OfflineUse::kReads},
    {"policy.analyze", "POST", "/v1/policy/analyze", OfflineUse::kReads},
    {"policy.diff", "POST", "/v1/policy/diff", OfflineUse::kReads},
    {"labels", "GET", "/v1/labels", OfflineUse::kReads},
    {"resources", "GET", "/v1/resources", OfflineUse::kReads},
    {"resource.label.get", "GET", "/v1/resource-labels", OfflineUse::kReads},
    {"resource.label.add", "POST", "/v1/resource-labels", OfflineUse::kWrites},
    {"resource.label.remove", "DELETE", "/v1/resource-labels", OfflineUse::kWrites},
    {"dry-run", "POST", "/v1/dry-run", OfflineUse::kReads},
    {"stats", "GET", "/v1/stats", OfflineUse::kNeedsDaemon},
    {"domain.list", "GET", "/v1/domains", OfflineUse::kNeedsDaemon},
    {"domain.create", "POST", "/v1/domains", OfflineUse::kNeedsDaemon},
    {"domain.info", "GET", "/v1/domains/{name}", OfflineUse::kNeedsDaemon},
    {"domain.shutdown", "POST", "/v1/domains/{name}/shutdown", OfflineUse::kNeedsDaemon},
    {"domain.destroy", "POST", "/v1/domains/{name}/destroy", OfflineUse::kNeedsDaemon},
    {"domain.pause", "POST", "/v1/domains/{name}/pause", OfflineUse::kNeedsDaemon},
    {"domain.unpause", "POST", "/v1/domains/{name}/unpause", OfflineUse::kNeedsDaemon},
    {"domain.console-log", "GET", "/v1/domains/{name}/console-log", OfflineUse::kNeedsDaemon},
    {"domain.network-attach", "POST", "/v1/domains/{name}/network-attach",
     OfflineUse::kNeedsDaemon},
    {"domain.network-detach", "POST", "/v1/domains/{name}/network-detach",
     OfflineUse::kNeedsDaemon},
    {"domain.shm-attach", "POST", "/v1/domains/{name}/shm-attach", OfflineUse::kNeedsDaemon},
    {"domain.shm-detach", "POST", "/v1/domains/{name}/shm-detach", OfflineUse::kNeedsDaemon},
    {"domain.block-attach", "POST", "/v1/domains/{name}/block-attach", OfflineUse::kNeedsDaemon},
    {"domain.block-detach", "POST", "/v1/domains/{name}/block-detach", OfflineUse::kNeedsDaemon},
    {"domain.relabel", "POST", "/v1/domains/{name}/relabel", OfflineUse::kNeedsDaemon},
    {"domain.save", "POST", "/v1/domains/{name}/save", OfflineUse::kNeedsDaemon},
    {"domain.restore", "POST", "/v1/restore", OfflineUse::kNeedsDaemon},
    {"shm.list", "GET", "/v1/shm", OfflineUse::kNeedsDaemon},
    {"vnet.list", "GET", "/v1/vnets", OfflineUse::kNeedsDaemon},
    {"vnet.info", "GET", "/v1/vnets/{name}", OfflineUse::kNeedsDaemon},
    {"audit", "GET", "/v1/audit", OfflineUse::kNeedsDaemon},
    {"vtpm.list", "GET", "/v1/vtpms", OfflineUse::kNeedsDaemon},
    {"vtpm.ca", "GET", "/v1/vtpm-ca", OfflineUse::kNeedsDaemon},
    {"vtpm.destroy", "POST", "/v1/vtpms/{name}/destroy", OfflineUse::kNeedsDaemon},
    {"domain.attest", "POST", "/v1/domains/{name}/attest", OfflineUse::kNeedsDaemon},
};

// One command per endpoint and one endpoint per command: an operation added in one place only
// does not compile.
constexpr std::size_t CountOp(std::string_view op) {
  std::size_t n = 0;
  for (const Endpoint& e : kEndpoints) n += e.op == op ? 1U : 0U;
  return n;
}
template <std::size_t... I>
constexpr bool EveryCommandHasOneEndpoint(std::index_sequence<I...>) {
  return ((CountOp(std::variant_alternative_t<I, Command>::kOp) == 1) && ...);
}
template <std::size_t... I>
constexpr bool EveryEndpointHasOneCommand(std::index_sequence<I...>) {
  for (const Endpoint& e : kEndpoints) {
    if (((std::variant_alternative_t<I, Command>::kOp == e.op ? 1U : 0U) + ...) != 1) return false;
  }
  return true;
}
static_assert(std::size(kEndpoints) == std::variant_size_v<Command>,
              "api::Command needs exactly one alternative per row of kEndpoints");
static_assert(EveryCommandHasOneEndpoint(std::make_index_sequence<std::variant_size_v<Command>>()),
              "every api::Command alternative's kOp must name exactly one row of kEndpoints");
static_assert(EveryEndpointHasOneCommand(std::make_index_sequence<std::variant_size_v<Command>>()),
              "every row of kEndpoints must be the kOp of exactly one api::Command alternative");

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
