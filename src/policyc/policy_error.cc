// SPDX-License-Identifier: Apache-2.0
//
// Names, XSERR values and message format of policyc's error categories.
#include "shype/policyc/policy_error.h"

#include <array>
#include <utility>

namespace shype::policyc {
namespace {

struct CategoryInfo {
  PolicyErrorCategory category;
  std::string_view name;
  std::uint32_t xserr;
};

constexpr std::array<CategoryInfo, 7> kCategories{{
    {PolicyErrorCategory::kBadXml, "BAD_XML", 0x1002},
    {PolicyErrorCategory::kBadPolicyName, "BAD_POLICY_NAME", 0x1012},
    {PolicyErrorCategory::kBadLabel, "BAD_LABEL", 0x1014},
    {PolicyErrorCategory::kPolicyInconsistent, "POLICY_INCONSISTENT", 0x1004},
    {PolicyErrorCategory::kPolicyHasDuplicates, "POLICY_HAS_DUPLICATES", 0x101c},
    {PolicyErrorCategory::kBadConflictSet, "BAD_CONFLICTSET", 0x1010},
    {PolicyErrorCategory::kVersionPreventsUpdate, "VERSION_PREVENTS_UPDATE", 0x1013},
}};

const CategoryInfo& InfoOf(PolicyErrorCategory category) {
  for (const auto& info : kCategories) {
    if (info.category == category) return info;
  }
  return kCategories[0];  // unreachable: the table covers the enum
}

}  // namespace

std::string_view PolicyErrorCategoryName(PolicyErrorCategory category) {
  return InfoOf(category).name;
}

std::uint32_t PolicyErrorXserr(PolicyErrorCategory category) { return InfoOf(category).xserr; }

std::optional<PolicyErrorCategory> ParsePolicyErrorCategory(std::string_view name) {
  for (const auto& info : kCategories) {
    if (info.name == name) return info.category;
  }
  return std::nullopt;
}

Error MakePolicyError(PolicyErrorCategory category, std::string_view file, std::uint32_t line,
                      std::string_view element, std::string_view what) {
  return Error{ErrorCode::kPolicyInvalid, fmt::format("{}:{}: {}: {} [{}]", file, line, element,
                                                      what, PolicyErrorCategoryName(category))};
}

std::optional<PolicyErrorCategory> PolicyErrorCategoryOf(const Error& error) {
  if (error.code != ErrorCode::kPolicyInvalid) return std::nullopt;
  const std::string_view message = error.message;
  if (message.empty() || message.back() != ']') return std::nullopt;
  const auto open = message.rfind('[');
  if (open == std::string_view::npos) return std::nullopt;
  return ParsePolicyErrorCategory(message.substr(open + 1, message.size() - open - 2));
}

}  // namespace shype::policyc
