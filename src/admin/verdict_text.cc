// SPDX-License-Identifier: Apache-2.0
//
// Verdicts and update refusals in words (verdict_text.h).
#include "shype/admin/verdict_text.h"

#include <fmt/format.h>

#include <map>

namespace shype::admin {

std::string DescribeVerdict(const acm::Verdict& verdict, const NameOfDomain& name_of) {
  if (verdict.conflicts.empty()) return verdict.reason;
  std::string out;
  for (const acm::ChineseWallConflict& c : verdict.conflicts) {
    for (const std::string& theirs : c.types) {
      out += out.empty() ? "Chinese Wall: " : "; ";
      out += fmt::format("type '{}' conflicts with type '{}' of running domain {} (label {})",
                         c.type, theirs, name_of(c.domain), c.label);
    }
  }
  return out.empty() ? verdict.reason : out;
}

namespace {

// "\n  - kind: message [domains: a b]" per violation.
std::string ViolationLines(const std::vector<acm::Violation>& violations,
                           const NameOfDomain& name_of) {
  std::string out;
  for (const auto& v : violations) {
    const bool version = v.kind == acm::ViolationKind::kVersion;
    out += fmt::format("\n  - {}: {}{}", acm::ViolationKindName(v.kind), v.message,
                       version ? " [VERSION_PREVENTS_UPDATE]" : "");
    if (!v.domains.empty()) {
      out += " [domains:";
      for (DomainId id : v.domains) out += " " + name_of(id);
      out += "]";
    }
  }
  return out;
}

}  // namespace

Error UpdateRefusal(const std::vector<acm::Violation>& violations, const NameOfDomain& name_of) {
  std::string message = fmt::format("policy update refused: {} violation{}:", violations.size(),
                                    violations.size() == 1 ? "" : "s");
  // Refused for the policy file alone (version, combination, renames): bad input, as Xen's
  // XSERR_VERSION_PREVENTS_UPDATE; anything about the running system: a conflict.
  bool file_only = true;
  for (const auto& v : violations) {
    file_only = file_only && (v.kind == acm::ViolationKind::kVersion ||
                              v.kind == acm::ViolationKind::kCombination ||
                              v.kind == acm::ViolationKind::kBadRename);
  }
  message += ViolationLines(violations, name_of);
  return Error{file_only ? ErrorCode::kPolicyInvalid : ErrorCode::kConflict, std::move(message)};
}

Error RelabelRefusal(std::string_view who, std::string_view from, std::string_view to,
                     const acm::Relabel& relabel, const NameOfDomain& name_of) {
  std::string message = fmt::format("relabel of {} from '{}' to '{}' refused", who, from, to);
  if (relabel.violations.empty()) {
    message += fmt::format(" ({}): {}", acm::HookName(relabel.verdict.rule),
                           DescribeVerdict(relabel.verdict, name_of));
  } else {
    message += fmt::format(": {} violation{}:", relabel.violations.size(),
                           relabel.violations.size() == 1 ? "" : "s");
    message += ViolationLines(relabel.violations, name_of);
  }
  return Error{ErrorCode::kPermissionDenied, std::move(message)};
}

namespace {

std::map<std::string, std::string> Renames(const std::vector<policyc::LabelRename>& renames) {
  std::map<std::string, std::string> out;
  for (const auto& r : renames) out[r.from] = r.to;
  return out;
}

}  // namespace

acm::UpdateRequest MakeUpdateRequest(const policyc::CompiledPolicy& next, bool check_only,
                                     bool revoke) {
  acm::UpdateRequest request;
  request.binary = next.binary;
  request.labels = next.map;
  if (const auto& from = next.header.from_policy) {
    request.from_policy = acm::PolicyRef{from->name, from->numbers};
  }
  request.vm_label_renames = Renames(next.vm_renames);
  request.resource_label_renames = Renames(next.resource_renames);
  request.mode = check_only ? acm::UpdateMode::kCheckOnly
                 : revoke   ? acm::UpdateMode::kCommitRevokingSharings
                            : acm::UpdateMode::kCommit;
  request.force_reset = next.header.is_default;
  return request;
}

}  // namespace shype::admin
