// SPDX-License-Identifier: Apache-2.0
//
// Fuzzes what any local root client may send shyped's API, and what shyped answers: the input is
// a request target, a newline, then a body. The target's bytes, query string and path segments go
// through the edge checks and the router's matching against every endpoint; whatever passes must
// be UTF-8 without NUL. The body goes through the JSON parser and is decoded as every endpoint's
// command: a decoded command re-encodes to parameters that decode to the same command (as JSON
// and, for GET/DELETE, as query text). Replies built from the raw bytes must serialize without
// throwing; base64 and percent-encoding must round-trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "shype/api/client.h"
#include "shype/api/command.h"
#include "shype/api/endpoints.h"
#include "shype/api/target.h"
#include "shype/api/text.h"
#include "shype/api/wire.h"

namespace {

using shype::api::Json;

void Require(bool ok) {
  if (!ok) std::abort();  // an invariant broke: libFuzzer reports the input
}

// A value the edge let through is text a reply can always carry.
void RequireClean(std::string_view value) {
  Require(!shype::api::FindInvalidUtf8(value));
  Require(value.find('\0') == std::string_view::npos);
}

void FuzzTarget(std::string_view target) {
  if (!shype::api::CheckTargetBytes(target)) return;
  std::size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (q != std::string_view::npos) {
    if (auto query = shype::api::ParseQuery(target.substr(q + 1))) {
      for (const auto& [key, value] : *query) {
        RequireClean(key);
        RequireClean(value);
      }
    }
  }
  std::vector<std::string> segments = shype::api::SplitPath(path);
  for (const auto& endpoint : shype::api::Endpoints()) {
    auto found = shype::api::MatchPath(shype::api::SplitPath(endpoint.path), segments);
    if (!found || !*found) continue;
    for (const auto& [key, value] : **found) RequireClean(value);
  }
}

// What the CLI encodes, the daemon decodes back to the same command.
void FuzzCommand(const shype::api::Endpoint& endpoint, const Json& params) {
  auto command = shype::api::DecodeCommand(endpoint, params);
  if (!command) {
    Require(command.error().code == shype::ErrorCode::kInvalidArgument);
    return;
  }
  Require(shype::api::OpOf(*command) == endpoint.op);
  shype::api::EncodedCommand encoded = shype::api::EncodeCommand(*command);
  Require(encoded.endpoint.op == endpoint.op);
  auto again = shype::api::DecodeCommand(encoded.endpoint, encoded.params);
  Require(again && *again == *command);
  if (endpoint.method != "GET" && endpoint.method != "DELETE") return;
  Json query = Json::object();  // as the daemon's router hands query values over: text
  for (const auto& [key, value] : encoded.params.items()) {
    query[key] = value.is_string() ? value.get<std::string>() : shype::api::DumpJson(value);
  }
  auto from_query = shype::api::DecodeCommand(encoded.endpoint, query);
  Require(from_query && *from_query == *command);
}

void FuzzBody(std::string_view text) {
  auto body = shype::api::ParseJsonBody(text);
  if (!body) return;
  for (const char* field : {"config", "path", "xml", "name", "resource", "label", "policy"}) {
    (void)shype::api::RequireString(*body, field);
  }
  (void)shype::api::OptionalBool(*body, "check_only", false);
  for (const auto& endpoint : shype::api::Endpoints()) {
    (void)shype::api::BuildTarget(endpoint, *body);
    FuzzCommand(endpoint, *body);
  }
  Require(static_cast<bool>(shype::api::DumpJsonStrict(*body)));  // parsed JSON is valid text
}

// Replies and records holding arbitrary bytes: never a throw, always JSON that parses back.
void FuzzReplies(std::string_view bytes) {
  std::string raw(bytes);
  Json reply{{"log", raw}, {"error", shype::api::ErrorToJson({shype::ErrorCode::kNotFound, raw})}};
  reply[raw] = Json::array({raw, 1});
  Require(!Json::parse(shype::api::DumpJson(reply), nullptr, false).is_discarded());
  if (auto strict = shype::api::DumpJsonStrict(reply, 2)) {
    Require(Json::parse(*strict, nullptr, false) == reply);
  }
  std::string escaped = shype::api::EscapeBytes(raw);
  RequireClean(escaped);
  auto back = shype::api::DecodeBase64(shype::api::EncodeBase64(raw));
  Require(back && *back == raw);
  (void)shype::api::DecodeBase64(raw);
  if (shype::api::CheckText(raw, "value")) {
    auto decoded = shype::api::DecodeComponent(shype::api::UrlEncode(raw), "value", false);
    Require(decoded && *decoded == raw);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t nl = text.find('\n');
  std::string_view target = text.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  FuzzTarget(target);
  FuzzBody(body);
  FuzzReplies(target);
  FuzzReplies(body);
  return 0;
}
