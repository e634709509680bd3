// SPDX-License-Identifier: Apache-2.0
//
// Wire conventions of shyped's HTTP/1.1 + JSON API (docs/api.md): how an Error travels as JSON
// and which HTTP status each ErrorCode maps to (the one table); the socket's location is
// api/state_dir.h (included here for its users).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "shype/api/state_dir.h"
#include "shype/common/result.h"

namespace shype::api {

using Json = nlohmann::json;

// The HTTP status for an error code (400, 404, 403, 422, 409, 500, 503, 500).
unsigned HttpStatusFor(ErrorCode code);

// {"error": {"code": "not_found", "message": "..."}}
Json ErrorToJson(const Error& error);
// Reads an error body back; a body that is not one gives kInternal with the raw text.
Error ErrorFromJson(const Json& body, unsigned http_status);

// Parses a request body; errors name what is wrong (kInvalidArgument).
[[nodiscard]] Result<Json> ParseJsonBody(std::string_view body);

// Typed field access for request bodies: missing or wrongly typed fields give kInvalidArgument
// naming the field and the expected type.
[[nodiscard]] Result<std::string> RequireString(const Json& body, std::string_view field);
[[nodiscard]] Result<std::string> OptionalString(const Json& body, std::string_view field,
                                                 std::string fallback);
[[nodiscard]] Result<bool> OptionalBool(const Json& body, std::string_view field, bool fallback);

}  // namespace shype::api
