// SPDX-License-Identifier: Apache-2.0
//
// Request-target decoding and checks (the HTTP edge of shyped's API).
#include "shype/api/target.h"

#include <cstdint>

#include "shype/api/text.h"

namespace shype::api {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsParameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

Result<void> CheckTargetBytes(std::string_view target) {
  for (std::size_t i = 0; i < target.size(); ++i) {
    auto c = static_cast<std::uint8_t>(target[i]);
    // SECURITY: raw bytes outside printable ASCII never reach routing or a handler.
    if (c <= 0x20 || c >= 0x7F) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the request target has byte 0x{:02X} at offset {} ('{}'); percent-encode it", c,
                  i, EscapeBytes(target));
    }
  }
  return {};
}

Result<std::string> DecodeComponent(std::string_view raw, std::string_view what,
                                    bool plus_is_space) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%') {
      bool complete = i + 2 < raw.size();
      int hi = complete ? HexValue(raw[i + 1]) : -1;
      int lo = complete ? HexValue(raw[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Fail(ErrorCode::kInvalidArgument,
                    "{} has a malformed percent-escape at offset {} ('{}'): '%' must be followed "
                    "by two hex digits",
                    what, i, EscapeBytes(raw));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(plus_is_space && raw[i] == '+' ? ' ' : raw[i]);
    }
  }
  // SECURITY: a decoded value becomes a domain name, a file name or a JSON string: it must be
  // UTF-8 (else the reply writer fails after the handler acted) and hold no NUL (which would cut
  // a file name short).
  if (auto r = CheckText(out, what); !r) return Fail(r.error());
  return out;
}

Result<Params> ParseQuery(std::string_view query) {
  Params out;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    std::size_t eq = pair.find('=');
    if (!pair.empty()) {
      auto key = DecodeComponent(pair.substr(0, eq), "a query parameter name", true);
      if (!key) return Fail(key.error());
      std::string value;
      if (eq != std::string_view::npos) {
        auto decoded =
            DecodeComponent(pair.substr(eq + 1), fmt::format("query parameter '{}'", *key), true);
        if (!decoded) return Fail(decoded.error());
        value = std::move(*decoded);
      }
      out[std::move(*key)] = std::move(value);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

Result<std::optional<Params>> MatchPath(const std::vector<std::string>& pattern,
                                        const std::vector<std::string>& segments) {
  if (pattern.size() != segments.size()) return std::nullopt;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (!IsParameter(pattern[i]) && pattern[i] != segments[i]) return std::nullopt;
  }
  Params found;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (!IsParameter(pattern[i])) continue;
    std::string name = pattern[i].substr(1, pattern[i].size() - 2);
    auto value = DecodeComponent(segments[i], fmt::format("path parameter '{}'", name), false);
    if (!value) return Fail(value.error());
    found[name] = std::move(*value);
  }
  return found;
}

}  // namespace shype::api
