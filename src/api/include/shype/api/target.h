// SPDX-License-Identifier: Apache-2.0
//
// The request target at the HTTP edge: its bytes, the query string and path parameters are
// percent-decoded and checked here — UTF-8, no NUL — before any handler sees them, and every
// refusal names the parameter. Shared by shyped's router and the API fuzz target. Pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shype/api/wire.h"

namespace shype::api {

using Params = std::map<std::string, std::string>;

// Checks that a request target is printable ASCII (RFC 3986: anything else is percent-encoded).
// Errors: kInvalidArgument naming the byte and its offset.
[[nodiscard]] Result<void> CheckTargetBytes(std::string_view target);

// Percent-decodes one component (a path segment, or a query key or value when `plus_is_space`)
// and checks the result is UTF-8 without NUL. Errors: kInvalidArgument naming `what` — a
// malformed escape ("%4", "%zz") or bad bytes after decoding.
[[nodiscard]] Result<std::string> DecodeComponent(std::string_view raw, std::string_view what,
                                                  bool plus_is_space);

// Splits "a=1&b=x%20y" into decoded, checked pairs (a repeated key: the last wins).
// Errors: kInvalidArgument naming the parameter.
[[nodiscard]] Result<Params> ParseQuery(std::string_view query);

// Splits a path into its raw (still percent-encoded) segments; empty segments are dropped.
std::vector<std::string> SplitPath(std::string_view path);

// Matches raw path segments against pattern segments ("v1", "domains", "{name}"): literal
// segments must be equal, each {x} is decoded and checked into the result. nullopt: no match.
// Errors: kInvalidArgument when the path matches but a parameter is malformed or not UTF-8.
[[nodiscard]] Result<std::optional<Params>> MatchPath(const std::vector<std::string>& pattern,
                                                      const std::vector<std::string>& segments);

}  // namespace shype::api
