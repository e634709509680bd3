// SPDX-License-Identifier: Apache-2.0
//
// Resource label changes as audit records, in the shape of every other record.
#include "resource_label_audit.h"

#include <fmt/format.h>

#include "shype/policy/label_map.h"

namespace shype::daemon {
namespace {

std::string FullLabel(const api::ResourceLabelReply& label) {
  return fmt::format("{}:{}:{}", LabelKindName(label.policy_type), label.policy, label.label);
}

}  // namespace

acm::AuditRecord ResourceLabelRecord(const acm::LoadedPolicy* active, const acm::DomainInfo& admin,
                                     const std::string& resource,
                                     const std::optional<api::ResourceLabelReply>& before,
                                     const std::optional<api::ResourceLabelReply>& after) {
  acm::AuditRecord record;
  record.action = "resource-label";
  record.hook = acm::Hook::kResource;
  record.decision = acm::Decision::kPermit;
  record.subject.domain = kDomain0;
  record.subject.name = "Domain-0";
  record.subject.ssidref = admin.ssidref;
  record.subject.label = admin.label;
  record.object.resource = resource;
  record.object.label = after ? after->label : std::string(policy::kUnlabeledLabel);
  if (active != nullptr) {
    record.policy_name = active->name();
    record.policy_version = active->version();
    record.seqno = active->seqno();
    if (after && after->policy_type == LabelKind::kAcm && after->policy == active->name()) {
      record.object.ssidref = active->ResourceSsidref(after->label).value_or(kInvalidSsidref);
    }
  }
  const std::string was = before ? FullLabel(*before) : "unlabeled";
  record.reason = after ? fmt::format("labeled {} (was {})", FullLabel(*after), was)
                        : fmt::format("label {} removed: {} now", was, policy::kUnlabeledLabel);
  return record;
}

}  // namespace shype::daemon
