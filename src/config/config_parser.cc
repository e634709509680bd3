// SPDX-License-Identifier: Apache-2.0
//
// A hand-written recursive-descent parser for xl.cfg: one pass, tracking lines and byte offsets.
#include "config_parser.h"

#include <charconv>
#include <map>
#include <string>
#include <utility>

namespace shype::config {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Shows a character in a message: printable as itself, others as a hex byte.
std::string Describe(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return fmt::format("'{}'", c);
  if (c == '\n') return "end of line";
  return fmt::format("byte 0x{:02x}", byte);
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  Result<std::vector<Setting>> Run() {
    std::vector<Setting> settings;
    std::map<std::string, std::uint32_t, std::less<>> seen;
    while (!AtEnd()) {
      char c = Peek();
      if (IsBlank(c) || c == ';') {
        ++pos_;
      } else if (c == '#') {
        SkipComment();
      } else if (c == '\n') {
        NewLine();
      } else if (IsIdentStart(c)) {
        auto setting = ParseSetting();
        if (!setting) return Fail(setting.error());
        auto [it, inserted] = seen.emplace(setting->key, setting->line);
        if (!inserted) {
          return Err(setting->line, "'{}' is already set at line {}; keep only one of them",
                     setting->key, it->second);
        }
        settings.push_back(std::move(*setting));
      } else {
        return Err(line_, "expected a setting name ([A-Za-z_][A-Za-z0-9_]*), got {}", Describe(c));
      }
    }
    return settings;
  }

 private:
  template <class... Args>
  tl::unexpected<Error> Err(std::uint32_t line, fmt::format_string<Args...> format,
                            Args&&... args) const {
    return Fail(ErrorCode::kInvalidArgument, "{}:{}: {}", source_, line,
                fmt::format(format, std::forward<Args>(args)...));
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void NewLine() {
    ++pos_;
    ++line_;
    line_start_ = pos_;
  }
  void SkipBlanks() {
    while (!AtEnd() && IsBlank(Peek())) ++pos_;
  }
  void SkipComment() {
    while (!AtEnd() && Peek() != '\n') ++pos_;
  }
  // Inside a list: blanks, comments and newlines.
  void SkipListFiller() {
    for (;;) {
      SkipBlanks();
      if (Peek() == '#') SkipComment();
      if (AtEnd() || Peek() != '\n') return;
      NewLine();
    }
  }
  // True if an identifier followed by '=' starts here (a new setting, e.g. after an unclosed '[').
  bool AtAssignment() const {
    std::size_t p = pos_;
    while (p < text_.size() && IsIdentChar(text_[p])) ++p;
    while (p < text_.size() && IsBlank(text_[p])) ++p;
    return p < text_.size() && (text_[p] == '=' || text_[p] == '+');
  }
  std::string_view WordAt() const {
    std::size_t p = pos_;
    while (p < text_.size() && (IsIdentChar(text_[p]) || text_[p] == '.' || text_[p] == '-')) ++p;
    return text_.substr(pos_, p - pos_);
  }

  Result<Setting> ParseSetting();
  Result<void> ParseValue(Setting& setting);
  Result<void> ParseStatementEnd(Setting& setting);
  Result<void> ParseList(Setting& setting);
  Result<ConfigItem> ParseAtom(const std::string& key);
  Result<std::string> ParseString(const std::string& key);
  Result<void> ParseEscape(std::string& out, std::uint32_t line);
  Result<std::int64_t> ParseNumber(const std::string& key);

  std::string_view text_;
  std::string_view source_;
  std::size_t pos_ = 0;
  std::size_t line_start_ = 0;
  std::uint32_t line_ = 1;
};

Result<Setting> Parser::ParseSetting() {
  Setting setting;
  setting.line = line_;
  setting.span.line_begin = line_start_;
  setting.span.begin = pos_;
  bool leading_clean = true;
  for (std::size_t p = line_start_; p < pos_; ++p) {
    if (!IsBlank(text_[p])) leading_clean = false;
  }
  while (!AtEnd() && IsIdentChar(Peek())) setting.key.push_back(text_[pos_++]);
  SkipBlanks();
  if (Peek() == '+' && Peek(1) == '=') {
    return Err(line_, "'{} +=' is not supported; write the whole value with '='", setting.key);
  }
  if (Peek() != '=') {
    return Err(line_, "expected '=' after the setting name '{}', got {}", setting.key,
               AtEnd() ? std::string("end of file") : Describe(Peek()));
  }
  ++pos_;
  SkipBlanks();
  if (auto value = ParseValue(setting); !value) return Fail(value.error());
  if (auto end = ParseStatementEnd(setting); !end) return Fail(end.error());
  setting.span.owns_lines = setting.span.owns_lines && leading_clean;
  return setting;
}

Result<void> Parser::ParseValue(Setting& setting) {
  char c = Peek();
  if (c == '[') {
    setting.is_list = true;
    return ParseList(setting);
  }
  if (AtEnd() || c == '\n' || c == '#' || c == ';') {
    return Err(line_, "expected a value after '{} =' (a quoted string, a number or a [list])",
               setting.key);
  }
  auto atom = ParseAtom(setting.key);
  if (!atom) return Fail(atom.error());
  setting.items.push_back(std::move(*atom));
  return {};
}

// After the value: blanks, then ';', a comment, a newline or the end of the file.
Result<void> Parser::ParseStatementEnd(Setting& setting) {
  SkipBlanks();
  const bool semicolon = Peek() == ';';
  if (semicolon) ++pos_;
  setting.span.end = pos_;
  SkipBlanks();
  if (Peek() == '#') SkipComment();
  if (!AtEnd() && Peek() != '\n') {
    if (semicolon) {
      setting.span.owns_lines = false;  // another statement follows on this line
      setting.span.line_end = pos_;
      return {};
    }
    return Err(line_,
               "unexpected {} after the value of '{}'; put one setting per line or "
               "separate settings with ';'",
               Describe(Peek()), setting.key);
  }
  setting.span.owns_lines = true;
  setting.span.line_end = AtEnd() ? pos_ : pos_ + 1;
  return {};
}

Result<void> Parser::ParseList(Setting& setting) {
  const std::uint32_t open_line = line_;
  ++pos_;  // '['
  for (;;) {
    SkipListFiller();
    if (AtEnd() || (IsIdentStart(Peek()) && AtAssignment())) {
      return Err(line_, "expected ']' to close the list opened at line {}", open_line);
    }
    char c = Peek();
    if (c == ']') break;
    if (c == ',') {
      return Err(line_, "empty element in the list '{}' (a leading or doubled ',')", setting.key);
    }
    if (c == '[') return Err(line_, "nested lists are not supported (in '{}')", setting.key);
    auto atom = ParseAtom(setting.key);
    if (!atom) return Fail(atom.error());
    setting.items.push_back(std::move(*atom));
    SkipListFiller();
    if (Peek() == ',') {
      ++pos_;
    } else if (AtEnd() || IsIdentStart(Peek())) {
      return Err(line_, "expected ']' to close the list opened at line {}", open_line);
    } else if (Peek() != ']') {
      return Err(line_,
                 "expected ',' or ']' after an element of the list '{}' (opened at line {}),"
                 " got {}",
                 setting.key, open_line, Describe(Peek()));
    }
  }
  ++pos_;  // ']'
  return {};
}

Result<ConfigItem> Parser::ParseAtom(const std::string& key) {
  ConfigItem item;
  item.line = line_;
  char c = Peek();
  if (c == '\'' || c == '"') {
    auto text = ParseString(key);
    if (!text) return Fail(text.error());
    item.value = std::move(*text);
  } else if (IsDigit(c) || c == '-') {
    auto number = ParseNumber(key);
    if (!number) return Fail(number.error());
    item.value = *number;
  } else if (IsIdentStart(c)) {
    std::string_view word = WordAt();
    return Err(line_, "the value {} of '{}' must be quoted: write '{}'", word, key, word);
  } else {
    return Err(line_, "unexpected {} in the value of '{}'", Describe(c), key);
  }
  return item;
}

Result<std::string> Parser::ParseString(const std::string& key) {
  const char quote = text_[pos_++];
  const std::uint32_t line = line_;
  std::string out;
  for (;;) {
    if (AtEnd() || Peek() == '\n') {
      return Err(line, "the string in '{}' opened with {} is not closed on the same line", key,
                 quote);
    }
    char c = text_[pos_++];
    if (c == quote) return out;
    if (c == '\\') {
      if (auto escape = ParseEscape(out, line); !escape) return Fail(escape.error());
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      return Err(line, "control character {} in a string of '{}'; use an escape such as \\n",
                 Describe(c), key);
    }
    out.push_back(c);
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one escape after '\': \\ \' \" \n \t \r \a \b \f \v \xHH \ooo (1-3 octal digits).
Result<void> Parser::ParseEscape(std::string& out, std::uint32_t line) {
  static constexpr std::string_view kSimple = "\\\\''\"\"n\nt\tr\ra\ab\bf\fv\v";
  char c = Peek();
  for (std::size_t i = 0; i < kSimple.size(); i += 2) {
    if (kSimple[i] == c) {
      out.push_back(kSimple[i + 1]);
      ++pos_;
      return {};
    }
  }
  int value = 0;
  if (c == 'x' && HexValue(Peek(1)) >= 0 && HexValue(Peek(2)) >= 0) {
    value = HexValue(Peek(1)) * 16 + HexValue(Peek(2));
    pos_ += 3;
  } else if (c >= '0' && c <= '7') {
    for (int digits = 0; digits < 3 && Peek() >= '0' && Peek() <= '7'; ++digits) {
      value = value * 8 + (text_[pos_++] - '0');
    }
    if (value > 0xff) return Err(line, "octal escape above \\377 in a string");
  } else {
    return Err(line, "unknown escape '\\{}' in a string; write '\\\\' for a backslash",
               AtEnd() || Peek() == '\n' ? ' ' : c);
  }
  if (value == 0) return Err(line, "NUL byte (\\0) in a string is not allowed");
  out.push_back(static_cast<char>(value));
  return {};
}

Result<std::int64_t> Parser::ParseNumber(const std::string& key) {
  const std::size_t start = pos_;
  if (Peek() == '-') ++pos_;
  while (!AtEnd() && (IsIdentChar(Peek()) || Peek() == '.')) ++pos_;
  std::string_view token = text_.substr(start, pos_ - start);
  std::string_view digits = token;
  bool negative = !digits.empty() && digits.front() == '-';
  if (negative) digits.remove_prefix(1);
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
    if (negative) digits = {};  // no negative hex
  }
  std::uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (digits.empty() || end != digits.data() + digits.size() || ec == std::errc::invalid_argument) {
    return Err(line_, "invalid number '{}' for '{}': use decimal digits or 0x and hex digits",
               token, key);
  }
  constexpr auto kMax = static_cast<std::uint64_t>(INT64_MAX);
  if (ec == std::errc::result_out_of_range || magnitude > kMax) {
    return Err(line_, "number '{}' for '{}' is out of range", token, key);
  }
  auto value = static_cast<std::int64_t>(magnitude);
  return negative ? -value : value;
}

}  // namespace

Result<std::vector<Setting>> ParseSettings(std::string_view text, std::string_view source) {
  return Parser(text, source).Run();
}

}  // namespace shype::config
