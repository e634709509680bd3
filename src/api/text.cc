// SPDX-License-Identifier: Apache-2.0
//
// UTF-8 checks, the never-throwing JSON writer and base64 (Boost.Beast's codec).
#include "shype/api/text.h"

#include <boost/beast/core/detail/base64.hpp>
#include <cstdint>

namespace shype::api {
namespace {

// The length of the well-formed UTF-8 sequence at text[i] (RFC 3629 table 3-7), 0 if none.
std::size_t SequenceLength(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - i < len) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

Result<void> CheckJsonTextAt(const Json& value, const std::string& where) {
  if (value.is_string()) {
    return CheckText(value.get_ref<const std::string&>(), fmt::format("field '{}'", where), true);
  }
  if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (auto r = CheckJsonTextAt(value[i], fmt::format("{}[{}]", where, i)); !r) return r;
    }
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (auto r = CheckText(key, fmt::format("a field name in '{}'", where), true); !r) return r;
      std::string inner = where.empty() ? key : where + "." + key;
      if (auto r = CheckJsonTextAt(item, inner); !r) return r;
    }
  }
  return {};
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::optional<std::size_t> FindInvalidUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    std::size_t len = SequenceLength(text, i);
    if (len == 0) return i;
    i += len;
  }
  return std::nullopt;
}

Result<void> CheckText(std::string_view text, std::string_view what, bool allow_nul) {
  if (auto bad = FindInvalidUtf8(text)) {
    return Fail(ErrorCode::kInvalidArgument,
                "{} is not valid UTF-8 text (byte 0x{:02X} at offset {} of '{}'); names, paths "
                "and texts travel as UTF-8: rename or convert it (e.g. with iconv)",
                what, static_cast<std::uint8_t>(text[*bad]), *bad, EscapeBytes(text));
  }
  if (std::size_t nul = text.find('\0'); !allow_nul && nul != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, "{} contains a NUL byte (at offset {} of '{}')", what,
                nul, EscapeBytes(text));
  }
  return {};
}

Result<void> CheckJsonText(const Json& value) { return CheckJsonTextAt(value, ""); }

std::string DumpJson(const Json& value, int indent) {
  // SECURITY: a reply, record or log line must never fail half-way because some byte string is
  // not UTF-8 (nlohmann's strict mode throws type_error 316 after the caller acted).
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

Result<std::string> DumpJsonStrict(const Json& value, int indent) {
  if (auto r = CheckJsonText(value); !r) return Fail(r.error());
  return DumpJson(value, indent);
}

std::string EscapeBytes(std::string_view bytes, std::size_t max_bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < max_bytes; ++i) {
    auto c = static_cast<std::uint8_t>(bytes[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02X}", c);
    }
  }
  if (bytes.size() > max_bytes) out += "...";
  return out;
}

std::string EncodeBase64(std::string_view bytes) {
  namespace b64 = boost::beast::detail::base64;
  std::string out(b64::encoded_size(bytes.size()), '\0');
  out.resize(b64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

Result<std::string> DecodeBase64(std::string_view text) {
  namespace b64 = boost::beast::detail::base64;
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  bool ok = text.size() % 4 == 0;
  for (std::size_t i = 0; ok && i < text.size() - padding; ++i) ok = IsBase64Char(text[i]);
  if (!ok) return Fail(ErrorCode::kInvalidArgument, "not valid base64 text");
  std::string out(b64::decoded_size(text.size()), '\0');
  auto [written, read] = b64::decode(out.data(), text.data(), text.size());
  if (read != text.size() - padding) {
    return Fail(ErrorCode::kInvalidArgument, "not valid base64 text");
  }
  out.resize(written);
  return out;
}

}  // namespace shype::api
