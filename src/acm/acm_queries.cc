// SPDX-License-Identifier: Apache-2.0
//
// Acm queries that are not on the hot path (authorization, conflict set), statistics, and the
// construction of audit records from the snapshot a decision used.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "acm_tables.h"
#include "rules.h"
#include "shype/acm/acm.h"
#include "thread_slot.h"

namespace shype::acm {

void Acm::Count(Hook hook, bool evaluated, bool denied, bool hit) {
  static_assert(kCounterSlots == kThreadSlots + 1, "one counter block per thread slot");
  const auto h = static_cast<std::size_t>(hook);
  if (evaluated)
    CountOne([&](std::uint32_t s) -> auto& { return counters_[s].hooks[h].evaluations; });
  if (denied) CountOne([&](std::uint32_t s) -> auto& { return counters_[s].hooks[h].denials; });
  if (hit) CountOne([&](std::uint32_t s) -> auto& { return counters_[s].hooks[h].cache_hits; });
}

// Sums every thread's block. Exact once the counting threads are quiescent (joined); while they
// run, each counter read is some value it really had.
AcmStats Acm::stats() const {
  AcmStats out;
  for (const SlotCounters& block : counters_) {
    for (std::size_t i = 0; i < kHookCount; ++i) {
      out.hooks[i].evaluations += block.hooks[i].evaluations.load(std::memory_order_relaxed);
      out.hooks[i].denials += block.hooks[i].denials.load(std::memory_order_relaxed);
      out.hooks[i].cache_hits += block.hooks[i].cache_hits.load(std::memory_order_relaxed);
    }
  }
  return out;
}

void Acm::Audit(AuditRecord record) { audit_.Submit(std::move(record)); }

AuditRecord Acm::MakeRecord(Hook hook, const PolicySnapshot* policy, std::string reason) const {
  AuditRecord record;
  record.time = clock_.Now();
  record.hook = hook;
  if (policy != nullptr) {
    record.policy_name = policy->name();
    record.policy_version = policy->binary().xml_version;
    record.seqno = policy->seqno();
  }
  record.decision = Decision::kDeny;
  record.reason = std::move(reason);
  return record;
}

AuditParty Acm::DomainParty(const PolicySnapshot* policy, DomainId domain,
                            std::optional<Ssidref> ref) const {
  AuditParty party;
  party.domain = domain;
  if (!ref) return party;
  party.ssidref = *ref;
  if (policy == nullptr) return party;
  party.label = policy->VmLabelOf(*ref).value_or("");
  if (auto row = policy->SteRow(*ref)) party.ste_types = policy->SteTypeNames(*row);
  if (auto row = policy->ChwallRow(*ref)) party.chwall_types = policy->ChwallTypeNames(*row);
  return party;
}

AuditParty Acm::ResourceParty(const PolicySnapshot* policy, std::string name, Ssidref ref) const {
  AuditParty party;
  party.resource = std::move(name);
  party.ssidref = ref;
  if (policy == nullptr) return party;
  if (auto row = policy->SteRow(ref)) {
    party.label = std::string(policy->SteRowLabel(*row));
    party.ste_types = policy->SteTypeNames(*row);
  }
  return party;
}

Verdict Acm::AuthorizationLocked(Ssidref vm) const {
  auto dom0 = domains_.find(kDomain0);
  return AuthorizationVerdict(
      policy_.get(), dom0 == domains_.end() ? std::nullopt : std::optional(dom0->second.ssidref),
      vm);
}

Verdict Acm::ChineseWallLocked(Ssidref vm) const {
  Verdict v;
  v.rule = Hook::kConflictSet;
  const PolicySnapshot* p = policy_.get();
  if (p == nullptr) {
    v.reason = "no policy is loaded";
    return v;
  }
  if (p->has_chwall()) {
    const std::uint32_t row = p->ChwallRow(vm).value_or(0xffff);
    if (row >= p->chwall_row_count()) {
      v.reason = fmt::format("ssidref {} is outside the CHWALL rows of policy '{}'", vm, p->name());
      return v;
    }
    // The parties are named on a denial only (hot on create).
    if (tables().chwall.IsBlocked(*p, row)) {
      v.subject_label = p->labels().vm_labels[row];
      v.subject_types = p->ChwallTypeNames(row);
      v.conflicts = ConflictsFor(row);
      v.reason = ChineseWallReason(v.subject_label, v.conflicts);
      return v;
    }
  }
  v.decision = Decision::kPermit;
  return v;
}

Verdict Acm::QueryAuthorization(Ssidref vm) const {
  std::lock_guard lock(mu_);
  Verdict authorized = AuthorizationLocked(vm);
  if (!authorized.permitted()) return authorized;
  // SECURITY: dry-run must refuse what create refuses, in the admission's order: a label
  // AdmitLocked refuses (the __NULL_LABEL__ row of a CHWALL-only policy, which authorization
  // alone permits) is denied here too.
  Verdict label = VmLabelVerdict(policy_.get(), vm);
  return label.permitted() ? authorized : label;
}

Verdict Acm::QueryChineseWall(Ssidref vm) const {
  std::lock_guard lock(mu_);
  return ChineseWallLocked(vm);
}

Verdict Acm::QueryResource(Ssidref vm, const ResourceRef& resource) const {
  std::lock_guard lock(mu_);
  return SteVerdict(policy_.get(), vm, resource);
}

Decision Acm::CheckAuthorization(Ssidref vm) {
  Verdict v;
  AuditRecord record;
  {
    std::lock_guard lock(mu_);
    v = AuthorizationLocked(vm);
    if (!v.permitted()) {
      const PolicySnapshot* p = policy_.get();
      auto dom0 = domains_.find(kDomain0);
      record = MakeRecord(Hook::kAuthorization, p, v.reason);
      record.subject = DomainParty(
          p, kDomain0,
          p && dom0 != domains_.end() ? std::optional(dom0->second.ssidref) : std::nullopt);
      record.object = DomainParty(p, DomainIndex::kReservedId, vm);
      record.object.domain.reset();
    }
  }
  Count(Hook::kAuthorization, true, !v.permitted(), false);
  if (v.permitted()) return Decision::kPermit;
  Audit(std::move(record));
  return Decision::kDeny;
}

Decision Acm::CheckConflictSet(Ssidref vm) {
  Verdict v;
  AuditRecord record;
  {
    std::lock_guard lock(mu_);
    v = ChineseWallLocked(vm);
    if (!v.permitted()) {
      record = MakeRecord(Hook::kConflictSet, policy_.get(), v.reason);
      record.subject = DomainParty(policy_.get(), DomainIndex::kReservedId, vm);
      record.subject.domain.reset();
    }
  }
  Count(Hook::kConflictSet, true, !v.permitted(), false);
  if (v.permitted()) return Decision::kPermit;
  Audit(std::move(record));
  return Decision::kDeny;
}

}  // namespace shype::acm
