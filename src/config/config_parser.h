// SPDX-License-Identifier: Apache-2.0
//
// The xl.cfg tokenizer/parser: text → settings with byte spans. Private to shype::config.
#pragma once

#include <string_view>
#include <vector>

#include "shype/common/result.h"
#include "shype/config/setting.h"

namespace shype::config {

// Parses xl.cfg text. Statements end at a newline or ';'; '#' starts a comment anywhere outside
// a string; lists may span lines and end with a trailing comma. A key set twice is an error.
// Errors: kInvalidArgument "<source>:<line>: <what is wrong and how to fix it>".
[[nodiscard]] Result<std::vector<Setting>> ParseSettings(std::string_view text,
                                                         std::string_view source);

}  // namespace shype::config
