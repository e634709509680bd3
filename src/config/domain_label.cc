// SPDX-License-Identifier: Apache-2.0
//
// DomainConfig's label editing (xm addlabel/getlabel/rmlabel dom): reads access_control and
// seclabel, appends access_control, removes label statements by splicing the text.
#include <algorithm>
#include <utility>
#include <vector>

#include "config_parser.h"
#include "shype/common/label_kind.h"
#include "shype/config/domain_config.h"

namespace shype::config {
namespace {

constexpr std::string_view kAccessControl = "access_control";
constexpr std::string_view kSeclabel = "seclabel";

// Policy and label names travel inside 'policy=P,label=L' and 'ACM:P:L': keep the separators,
// quotes and blanks out of them.
bool IsLabelToken(std::string_view token) {
  if (token.empty() || token.size() > 256) return false;
  for (char c : token) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f ||
        std::string_view("'\"\\,=:#[]").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

Error AtLine(const DomainConfig& config, std::uint32_t line, std::string message) {
  return Error{ErrorCode::kInvalidArgument,
               fmt::format("{}:{}: {}", config.source(), line, message)};
}

// The one string of a setting written as 'x' or ['x'].
const std::string* SingleString(const Setting& setting) {
  if (setting.items.size() != 1) return nullptr;
  return setting.items.front().AsString();
}

Result<DomainLabel> ParseAccessControl(const DomainConfig& config, const Setting& setting) {
  const std::string* text = SingleString(setting);
  auto bad = [&](std::string_view why) {
    return Fail(AtLine(config, setting.line,
                       fmt::format("access_control {}; write access_control = "
                                   "['policy=POLICY,label=LABEL']",
                                   why)));
  };
  if (text == nullptr) return bad("must hold exactly one quoted string");
  std::optional<std::string> policy;
  std::optional<std::string> label;
  std::string_view rest = *text;
  for (bool more = true; more;) {
    auto comma = rest.find(',');
    more = comma != std::string_view::npos;
    std::string_view field = rest.substr(0, comma);
    rest = more ? rest.substr(comma + 1) : std::string_view();
    auto eq = field.find('=');
    std::string_view key = field.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : field.substr(eq + 1);
    std::optional<std::string>* slot = key == "policy"  ? &policy
                                       : key == "label" ? &label
                                                        : nullptr;
    if (slot == nullptr || slot->has_value() || !IsLabelToken(value)) {
      return bad(fmt::format("'{}' is malformed at '{}'", *text, field));
    }
    *slot = std::string(value);
  }
  if (!policy || !label) return bad(fmt::format("'{}' lacks the policy or the label", *text));
  return DomainLabel{std::move(*policy), std::move(*label)};
}

Result<DomainLabel> ParseSeclabel(const DomainConfig& config, const Setting& setting) {
  const std::string* text = setting.is_list ? nullptr : SingleString(setting);
  std::string_view value = text == nullptr ? std::string_view() : std::string_view(*text);
  auto first = value.find(':');
  auto second = first == std::string_view::npos ? first : value.find(':', first + 1);
  if (second == std::string_view::npos ||
      value.substr(0, first) != LabelKindName(LabelKind::kAcm) ||
      !IsLabelToken(value.substr(first + 1, second - first - 1)) ||
      !IsLabelToken(value.substr(second + 1))) {
    return Fail(
        AtLine(config, setting.line,
               fmt::format("seclabel must be a quoted 'ACM:POLICY:LABEL', got '{}'", value)));
  }
  return DomainLabel{std::string(value.substr(first + 1, second - first - 1)),
                     std::string(value.substr(second + 1))};
}

}  // namespace

Result<std::optional<DomainLabel>> DomainConfig::GetLabel() const {
  const Setting* access = Find(kAccessControl);
  const Setting* seclabel = Find(kSeclabel);
  std::optional<DomainLabel> from_access;
  std::optional<DomainLabel> from_seclabel;
  if (access != nullptr) {
    auto label = ParseAccessControl(*this, *access);
    if (!label) return Fail(label.error());
    from_access = std::move(*label);
  }
  if (seclabel != nullptr) {
    auto label = ParseSeclabel(*this, *seclabel);
    if (!label) return Fail(label.error());
    from_seclabel = std::move(*label);
  }
  // SECURITY: two labels that disagree would let tools pick different subjects; refuse.
  if (from_access && from_seclabel && *from_access != *from_seclabel) {
    return Fail(
        AtLine(*this, seclabel->line,
               fmt::format("seclabel '{}' disagrees with access_control at line {} ({}); "
                           "keep only one label",
                           from_seclabel->AcmString(), access->line, from_access->AcmString())));
  }
  return from_access ? from_access : from_seclabel;
}

Result<void> DomainConfig::CheckNotLabeled() const {
  if (Find(kAccessControl) != nullptr || Find(kSeclabel) != nullptr) {
    return Fail(ErrorCode::kConflict, "Config file '{}' is already labeled.", source_);
  }
  return {};
}

Result<void> DomainConfig::SetLabel(std::string_view policy, std::string_view label) {
  if (auto unlabeled = CheckNotLabeled(); !unlabeled) return unlabeled;
  for (std::string_view token : {policy, label}) {
    if (!IsLabelToken(token)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "invalid policy or label name '{}': it must be non-empty without blanks, "
                  "quotes, backslashes or any of , = : # [ ]",
                  token);
    }
  }
  std::string text = text_;
  if (!text.empty() && text.back() != '\n') text.push_back('\n');
  text += fmt::format("access_control = ['policy={},label={}']\n", policy, label);
  auto settings = ParseSettings(text, source_);
  if (!settings) return Fail(settings.error().WithContext("internal: relabeled text"));
  text_ = std::move(text);
  settings_ = std::move(*settings);
  return {};
}

Result<void> DomainConfig::RemoveLabel() {
  std::vector<SourceSpan> spans;
  for (const Setting& setting : settings_) {
    if (setting.key == kAccessControl || setting.key == kSeclabel) spans.push_back(setting.span);
  }
  if (spans.empty()) return Fail(ErrorCode::kNotFound, "Domain not labeled");
  std::sort(spans.begin(), spans.end(),
            [](const SourceSpan& a, const SourceSpan& b) { return a.begin > b.begin; });
  std::string text = text_;
  for (const SourceSpan& span : spans) {
    if (span.owns_lines) {
      text.erase(span.line_begin, span.line_end - span.line_begin);
      continue;
    }
    std::size_t end = span.end;
    while (end < text.size() && (text[end] == ' ' || text[end] == '\t')) ++end;
    text.erase(span.begin, end - span.begin);
  }
  auto settings = ParseSettings(text, source_);
  if (!settings) return Fail(settings.error().WithContext("internal: unlabeled text"));
  text_ = std::move(text);
  settings_ = std::move(*settings);
  return {};
}

}  // namespace shype::config
