// SPDX-License-Identifier: Apache-2.0
//
// Error <-> JSON and ErrorCode <-> HTTP status: the single mapping table of the API.
#include "shype/api/wire.h"

#include "shype/api/text.h"

namespace shype::api {

unsigned HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kPolicyInvalid:
      return 422;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kIo:
      return 500;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

Json ErrorToJson(const Error& error) {
  return Json{{"error", {{"code", ErrorCodeName(error.code)}, {"message", error.message}}}};
}

Error ErrorFromJson(const Json& body, unsigned http_status) {
  static constexpr ErrorCode kAll[] = {ErrorCode::kInvalidArgument,  ErrorCode::kNotFound,
                                       ErrorCode::kPermissionDenied, ErrorCode::kPolicyInvalid,
                                       ErrorCode::kConflict,         ErrorCode::kIo,
                                       ErrorCode::kUnavailable,      ErrorCode::kInternal};
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const Json& e = body["error"];
    std::string code = e.value("code", "");
    std::string message = e.value("message", "");
    for (ErrorCode c : kAll) {
      if (ErrorCodeName(c) == code) return Error{c, message};
    }
    return Error{ErrorCode::kInternal, message};
  }
  return Error{ErrorCode::kInternal,
               fmt::format("daemon replied HTTP {} without an error body", http_status)};
}

Result<Json> ParseJsonBody(std::string_view body) {
  if (body.empty()) return Json::object();
  // SECURITY: name the bad byte here; the parser would refuse it too, but only as "not JSON".
  if (auto text = CheckText(body, "the request body", /*allow_nul=*/true); !text) {
    return Fail(text.error());
  }
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Fail(ErrorCode::kInvalidArgument, "request body is not valid JSON");
  }
  if (!parsed.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, "request body must be a JSON object, got {}",
                parsed.type_name());
  }
  return parsed;
}

Result<std::string> RequireString(const Json& body, std::string_view field) {
  auto it = body.find(field);
  if (it == body.end()) {
    return Fail(ErrorCode::kInvalidArgument, "field '{}' is missing (a string is expected)", field);
  }
  if (!it->is_string()) {
    return Fail(ErrorCode::kInvalidArgument, "field '{}' must be a string, got {}", field,
                it->type_name());
  }
  return it->get<std::string>();
}

Result<std::string> OptionalString(const Json& body, std::string_view field, std::string fallback) {
  if (!body.contains(field) || body.at(std::string(field)).is_null()) return fallback;
  return RequireString(body, field);
}

Result<bool> OptionalBool(const Json& body, std::string_view field, bool fallback) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) {
    return Fail(ErrorCode::kInvalidArgument, "field '{}' must be a boolean, got {}", field,
                it->type_name());
  }
  return it->get<bool>();
}

}  // namespace shype::api
