// SPDX-License-Identifier: Apache-2.0
//
// The parsed form of one xl.cfg statement (`key = value`): its typed value, the lines it came from
// and the byte span it occupies, so that edits can splice the text without reformatting it.
// Plain values; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace shype::config {

// One scalar: a quoted string (escapes already decoded) or an integer, with its 1-based line.
struct ConfigItem {
  std::variant<std::string, std::int64_t> value;
  std::uint32_t line = 0;

  const std::string* AsString() const { return std::get_if<std::string>(&value); }
  const std::int64_t* AsInteger() const { return std::get_if<std::int64_t>(&value); }
};

// Where a statement sits in the text. [begin, end) covers `key = value` (and a trailing ';');
// [line_begin, line_end) covers the whole lines it touches, including the final '\n'.
// `owns_lines` is true when nothing but blanks and a comment shares those lines.
struct SourceSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t line_begin = 0;
  std::size_t line_end = 0;
  bool owns_lines = false;
};

struct Setting {
  std::string key;
  std::uint32_t line = 0;  // line of the key
  bool is_list = false;    // `[ ... ]`; otherwise `items` holds exactly one scalar
  std::vector<ConfigItem> items;
  SourceSpan span;
};

}  // namespace shype::config
