// SPDX-License-Identifier: Apache-2.0
//
// The update transaction's sharing re-check, its driver (UpdatePolicy) and the atomic commit:
// one seqlock write section translates every domain, revokes what was asked, and publishes.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "acm_update_plan.h"
#include "shype/acm/acm.h"

namespace shype::acm {

namespace {

std::string SharingText(const Sharing& s) {
  if (s.peer) {
    return fmt::format("{} sharing between domains {} and {}", ShareKindName(*s.share_kind),
                       s.subject, *s.peer);
  }
  return fmt::format("{} resource '{}' used by domain {}",
                     ResourceKindName(s.resource_kind.value_or(ResourceKind::kDisk)), s.resource,
                     s.subject);
}

}  // namespace

namespace {

// A vTPM serves the one VM label it was made for (rules.cc SteVerdict): a plan giving its domain
// another label breaks the sharing, whatever types the labels share.
std::optional<Violation> VtpmOwnerViolation(const Sharing& s, SharingId id, Ssidref owner,
                                            Ssidref subject, const std::string& owner_label,
                                            std::string_view under) {
  if (s.resource_kind != ResourceKind::kVtpm || owner == subject) return std::nullopt;
  return Violation{ViolationKind::kSharingBroken,
                   fmt::format("{}: it belongs to label '{}', which domain {} would no longer have "
                               "{}",
                               SharingText(s), owner_label, s.subject, under),
                   {s.subject},
                   {},
                   id};
}

}  // namespace

void Acm::PlanSharings(const PolicySnapshot& next, const UpdateRequest& r, UpdatePlan& plan) const {
  for (const auto& [id, s] : sharings_) {
    auto subject = plan.translated.find(s.subject);
    if (subject == plan.translated.end()) continue;  // reported as kLabelMissing
    std::optional<Ssidref> object;
    std::string object_label;
    if (s.peer) {
      auto peer = plan.translated.find(*s.peer);
      if (peer == plan.translated.end()) continue;
      object = peer->second.ssidref;
      object_label = peer->second.label;
    } else if (s.resource_kind == ResourceKind::kNetwork && s.resource_label.empty()) {
      continue;  // an unlabeled network (IsOpenNetwork): its pair sharings are checked instead
    } else {
      const std::string old =
          s.resource_label.empty() ? std::string(policy::kUnlabeledLabel) : s.resource_label;
      auto rename = r.resource_label_renames.find(old);
      object_label = rename != r.resource_label_renames.end() ? rename->second : old;
      object = next.ResourceSsidref(object_label);
      if (!object) object = next.VmSsidref(object_label);  // a VM row used as a resource
      if (!object && next.has_ste()) {
        Violation v{ViolationKind::kResourceLabelMissing,
                    fmt::format("{}: its label '{}' is not in the new policy '{}'", SharingText(s),
                                object_label, next.name()),
                    {s.subject},
                    {},
                    id};
        plan.violations.push_back(std::move(v));
        continue;
      }
      plan.resource_labels[id] = object_label;
      if (auto v = VtpmOwnerViolation(s, id, *object, subject->second.ssidref, object_label,
                                      plan.under)) {
        plan.violations.push_back(std::move(*v));
        continue;
      }
    }
    if (!next.has_ste()) continue;
    const std::uint32_t a = *next.SteRow(subject->second.ssidref);
    const std::uint32_t b = *next.SteRow(*object);
    if (next.SteBits(a).Intersects(next.SteBits(b))) continue;
    const auto subject_types = next.SteTypeNames(a);
    const auto object_types = next.SteTypeNames(b);
    Violation v{ViolationKind::kSharingBroken,
                fmt::format("{}: labels '{}' (types {}) and '{}' (types {}) would share no STE "
                            "type {}",
                            SharingText(s), subject->second.label, fmt::join(subject_types, ", "),
                            object_label, fmt::join(object_types, ", "), plan.under),
                {s.subject},
                subject_types,
                id};
    if (s.peer) v.domains.push_back(*s.peer);
    v.types.insert(v.types.end(), object_types.begin(), object_types.end());
    plan.violations.push_back(std::move(v));
  }
}

void Acm::CommitPlan(std::shared_ptr<const PolicySnapshot> next, UpdatePlan& plan,
                     UpdateReport& report) {
  BeginWrite();
  for (const auto& [id, record] : plan.translated) {
    domains_[id] = record;
    tables().index.Set(id, record.ssidref);
  }
  for (const Violation& v : plan.violations) {
    if (!v.sharing) continue;
    auto it = sharings_.find(*v.sharing);
    if (it == sharings_.end()) continue;
    report.revoked.push_back(std::move(it->second));
    sharings_.erase(it);
  }
  for (const auto& [id, label] : plan.resource_labels) {
    if (auto it = sharings_.find(id); it != sharings_.end()) it->second.resource_label = label;
  }
  report.seqno = next->seqno();
  Publish(std::move(next));
  EndWrite();
  RebuildChineseWall();
  report.committed = true;
}

PreparedUpdate::~PreparedUpdate() = default;

UpdateReport Acm::RunUpdateLocked(const std::shared_ptr<const PolicySnapshot>& next,
                                  const UpdateRequest& request, bool commit,
                                  std::optional<AuditRecord>& refusal) {
  UpdateReport report;
  UpdatePlan plan;
  plan.violations = CheckVersion(*next, request);
  PlanTranslation(*next, request, plan);
  PlanChineseWall(*next, plan);
  PlanSharings(*next, request, plan);
  plan.PlanAuthorization(*next);
  report.seqno = policy_->seqno();
  report.violations = plan.violations;
  report.invalidated = plan.invalidated;
  if (auto dom0 = plan.translated.find(kDomain0); dom0 != plan.translated.end()) {
    report.domain0_label = dom0->second.label;
  }
  const bool revoking = request.mode == UpdateMode::kCommitRevokingSharings;
  const bool blocked = std::any_of(plan.violations.begin(), plan.violations.end(),
                                   [&](const Violation& v) { return !(revoking && v.sharing); });
  // A check-only request is a query: its violations are reported, not audited.
  if (!blocked && !commit) return report;
  if (!blocked) {
    CommitPlan(next, plan, report);
    return report;
  }
  if (!commit && request.mode == UpdateMode::kCheckOnly) return report;
  std::vector<std::string> messages;
  for (const auto& v : plan.violations) messages.push_back(v.message);
  refusal = MakeRecord(Hook::kPolicyUpdate, policy_.get(),
                       fmt::format("update to policy '{}' version {}.{} rejected: {}", next->name(),
                                   next->binary().xml_version.major,
                                   next->binary().xml_version.minor, fmt::join(messages, "; ")));
  refusal->action = "policy-update";
  refusal->subject = DomainParty(policy_.get(), kDomain0, domains_.at(kDomain0).ssidref);
  refusal->object.resource = fmt::format("policy:{}", next->name());
  return report;
}

Result<PreparedUpdate> Acm::PrepareUpdate(UpdateRequest request) {
  PreparedUpdate prepared;
  std::optional<AuditRecord> refusal;  // a committing request refused already: audited here
  {
    std::lock_guard lock(mu_);
    if (!policy_) {
      return Fail(ErrorCode::kUnavailable, "no policy is loaded: load one before updating it");
    }
    auto next = PolicySnapshot::Create(std::move(request.binary), std::move(request.labels),
                                       PolicySeqno{policy_->seqno().value() + 1});
    if (!next) return Fail(next.error());
    prepared.report_ = RunUpdateLocked(*next, request, /*commit=*/false, refusal);
    prepared.next_ = std::move(*next);
    prepared.request_ = std::move(request);
    prepared.refused_ = refusal.has_value();
  }
  if (refusal) {
    Count(Hook::kPolicyUpdate, true, true, false);
    Audit(std::move(*refusal));
  }
  return prepared;
}

Result<UpdateReport> Acm::Commit(PreparedUpdate prepared) {
  UpdateReport report;
  std::optional<AuditRecord> record;
  std::vector<AuditRecord> revocations;
  std::shared_ptr<const PolicySnapshot> old;     // the policy the update replaced
  std::shared_ptr<const PolicySnapshot> active;  // the policy in force after the call
  {
    std::lock_guard lock(mu_);
    old = policy_;
    if (!policy_ || !prepared.next_ ||
        prepared.next_->seqno().value() != policy_->seqno().value() + 1) {
      return Fail(ErrorCode::kConflict,
                  "another policy was committed since this update was checked: check it again");
    }
    report = RunUpdateLocked(prepared.next_, prepared.request_, /*commit=*/true, record);
    // Each revoked sharing is audited, under the policy that revoked it.
    for (const Sharing& s : report.revoked) {
      AuditRecord r = MakeRecord(Hook::kPolicyUpdate, policy_.get(),
                                 s.peer ? fmt::format("revoked: {} sharing with domain {}",
                                                      ShareKindName(*s.share_kind), s.peer->value())
                                        : fmt::format("revoked: use of {}", s.resource));
      r.action = "revoke";
      r.subject.domain = s.subject;
      if (s.peer) r.object.domain = *s.peer;
      r.object.resource = s.resource;
      r.object.label = s.resource_label;
      revocations.push_back(std::move(r));
    }
    active = policy_;
  }
  Count(Hook::kPolicyUpdate, true, record.has_value(), false);
  if (report.committed) {
    std::vector<std::string> invalid;
    for (const auto& r : report.invalidated) invalid.push_back(r.resource);
    record = MakeRecord(
        Hook::kPolicyUpdate, active.get(),
        fmt::format(
            "policy '{}' version {}.{} replaced '{}' version {}.{}{}{}", active->name(),
            active->binary().xml_version.major, active->binary().xml_version.minor, old->name(),
            old->binary().xml_version.major, old->binary().xml_version.minor,
            invalid.empty() ? "" : "; resource labels invalidated: ", fmt::join(invalid, ", ")));
    record->decision = Decision::kPermit;
    record->action = active->name() == "DEFAULT" ? "policy-reset" : "policy-install";
    record->subject.domain = kDomain0;
    record->object.resource = fmt::format("policy:{}", active->name());
  }
  if (record) Audit(std::move(*record));
  for (AuditRecord& r : revocations) Audit(std::move(r));
  return report;
}

Result<UpdateReport> Acm::UpdatePolicy(UpdateRequest request) {
  const bool check_only = request.mode == UpdateMode::kCheckOnly;
  auto prepared = PrepareUpdate(std::move(request));
  if (!prepared) return Fail(prepared.error());
  if (check_only) {
    Count(Hook::kPolicyUpdate, true, false, false);
    return prepared->report();
  }
  if (prepared->refused_) return prepared->report();  // refused and audited by the check
  return Commit(std::move(*prepared));
}

}  // namespace shype::acm
