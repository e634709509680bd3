// SPDX-License-Identifier: Apache-2.0
//
// Byte strings at the JSON edge: UTF-8 validation with messages that name the field, a JSON
// serializer that never throws, a printable rendering of untrusted bytes for messages, and
// base64 for byte strings that must travel losslessly (console logs).
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "shype/api/wire.h"

namespace shype::api {

// The offset of the first byte of `text` that is not part of well-formed UTF-8 (overlong forms,
// surrogates and code points above U+10FFFF are ill-formed), or nullopt when all of it is.
std::optional<std::size_t> FindInvalidUtf8(std::string_view text);

// Checks that `text` is well-formed UTF-8 (and, unless `allow_nul`, has no NUL byte).
// Errors: kInvalidArgument "<what> is not valid UTF-8 text (byte 0xFF at offset 3 of '...')".
[[nodiscard]] Result<void> CheckText(std::string_view text, std::string_view what,
                                     bool allow_nul = false);

// Checks every string and object key inside `value` with CheckText (NUL allowed: JSON carries
// it as \u0000); errors name the field, e.g. "field 'config'" or "field 'resources[2]'".
[[nodiscard]] Result<void> CheckJsonText(const Json& value);

// Serializes `value`; never throws. Strings that are not UTF-8 (which the edges refuse, so this
// is only a backstop) get U+FFFD for each bad byte. `indent` < 0 is the compact form.
std::string DumpJson(const Json& value, int indent = -1);

// Serializes `value` exactly, or refuses. Errors: kInvalidArgument naming the bad field.
[[nodiscard]] Result<std::string> DumpJsonStrict(const Json& value, int indent = -1);

// Renders untrusted bytes for a message: printable ASCII as is, every other byte as \xNN.
// At most `max_bytes` input bytes are shown (then "...").
std::string EscapeBytes(std::string_view bytes, std::size_t max_bytes = 200);

// Standard base64 (RFC 4648, with padding).
std::string EncodeBase64(std::string_view bytes);
// Errors: kInvalidArgument when `text` is not standard padded base64.
[[nodiscard]] Result<std::string> DecodeBase64(std::string_view text);

}  // namespace shype::api
