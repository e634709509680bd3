// SPDX-License-Identifier: Apache-2.0
//
// Acm writer side: policy load and publication (seqlock + retained snapshots), domain admission
// with Xen's primary/secondary layering, destruction, and the Chinese Wall / authorization queries.
#include "shype/acm/acm.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <utility>

namespace shype::acm {

using policy::PolicyCode;

Acm::Acm(const Clock& clock, AuditSink& audit) : clock_(clock), audit_(audit) {}

Acm::~Acm() = default;

void Acm::BeginWrite() {
  generation_.store(generation_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}

void Acm::EndWrite() {
  generation_.store(generation_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void Acm::Publish(std::shared_ptr<const PolicySnapshot> next) {
  active_.store(next.get(), std::memory_order_release);
  retained_.push_back(next);
  policy_ = std::move(next);
  cache_.Clear();
}

std::shared_ptr<const PolicySnapshot> Acm::policy() const {
  std::lock_guard lock(mu_);
  return policy_;
}

std::uint32_t Acm::ChwallRowOf(const PolicySnapshot& policy, Ssidref ref) const {
  return policy.ChwallRow(ref).value_or(0);
}

std::vector<std::pair<DomainId, Acm::DomainRecord>> Acm::OrderedDomains() const {
  std::vector<std::pair<DomainId, DomainRecord>> ordered(domains_.begin(), domains_.end());
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.second.order < b.second.order; });
  return ordered;
}

void Acm::RebuildChineseWall() {
  const bool active = policy_ && policy_->has_chwall();
  chwall_.Reset(active ? policy_->binary().chwall->max_types() : 0);
  if (!active) return;
  for (const auto& [id, record] : OrderedDomains()) {
    chwall_.Add(*policy_, ChwallRowOf(*policy_, record.ssidref));
  }
}

Result<PolicySeqno> Acm::LoadPolicy(policy::BinaryPolicy binary, policy::LabelMap labels) {
  std::lock_guard lock(mu_);
  std::vector<std::uint32_t> others;
  for (const auto& [id, record] : domains_) {
    if (id != kDomain0) others.push_back(id.value());
  }
  if (!others.empty() || !sharings_.empty()) {
    return Fail(ErrorCode::kConflict,
                "a policy load needs Domain-0 alone with no live sharing, but domains [{}] run "
                "and {} sharings are live: stop them, or send a policy update instead",
                fmt::join(others, ", "), sharings_.size());
  }
  const PolicySeqno seqno{policy_ ? policy_->seqno().value() + 1 : 1};
  auto next = PolicySnapshot::Create(std::move(binary), std::move(labels), seqno);
  if (!next) return Fail(next.error());
  const PolicySnapshot& p = **next;
  const bool labeled = p.has_chwall() || p.has_ste();
  DomainRecord dom0{labeled ? Ssidref::FromParts(1, 1) : Ssidref{0},
                    labeled ? std::string(p.labels().bootstrap_label()) : std::string(), 0};
  BeginWrite();
  if (domains_.contains(kDomain0)) {
    index_.Set(kDomain0, dom0.ssidref);
  } else {
    index_.Insert(kDomain0, dom0.ssidref);
  }
  domains_[kDomain0] = dom0;
  Publish(std::move(*next));
  EndWrite();
  RebuildChineseWall();
  return seqno;
}

std::vector<ChineseWallConflict> Acm::ConflictsFor(std::uint32_t row) const {
  std::vector<ChineseWallConflict> conflicts;
  const PolicySnapshot& p = *policy_;
  const auto& sets = p.binary().chwall->conflict_sets;
  for (std::uint32_t t : chwall_.BlockedTypes(p, row)) {
    for (const auto& [id, record] : OrderedDomains()) {
      const std::uint32_t other = ChwallRowOf(p, record.ssidref);
      const auto blocks = p.BlockedBy(other);
      if (std::find(blocks.begin(), blocks.end(), t) == blocks.end()) continue;
      ChineseWallConflict conflict{p.labels().chwall_types[t], id, record.label, {}};
      for (std::uint32_t theirs : p.ChwallTypes(other)) {
        for (std::uint32_t set : p.SetsOfType(t)) {
          if (sets.has(set, theirs)) {
            conflict.types.push_back(p.labels().chwall_types[theirs]);
            break;
          }
        }
      }
      conflicts.push_back(std::move(conflict));
    }
  }
  return conflicts;
}

namespace {

std::string ConflictReason(std::string_view label, const std::vector<ChineseWallConflict>& all) {
  std::vector<std::string> parts;
  for (const auto& c : all) {
    parts.push_back(fmt::format("type '{}' conflicts with running domain {} (label '{}', types {})",
                                c.type, c.domain, c.label, fmt::join(c.types, ", ")));
  }
  return fmt::format("Chinese Wall: label '{}': {}", label, fmt::join(parts, "; "));
}

}  // namespace

std::string Acm::ConflictReasonFor(std::uint32_t row) const {
  return ConflictReason(policy_->labels().vm_labels[row], ConflictsFor(row));
}

AdmissionDecision Acm::CheckDomainCreate(DomainId domain, Ssidref ssidref) {
  AdmissionDecision result;
  AuditRecord record;
  {
    std::lock_guard lock(mu_);
    result = AdmitLocked(domain, ssidref);
    if (result.decision == Decision::kDeny) {
      record = MakeRecord(Hook::kDomainCreate, policy_.get(), result.reason);
      record.subject = DomainParty(policy_.get(), domain, ssidref);
    }
  }
  Count(Hook::kDomainCreate, true, result.decision == Decision::kDeny, false);
  if (result.decision == Decision::kDeny) Audit(std::move(record));
  return result;
}

AdmissionDecision Acm::AdmitLocked(DomainId domain, Ssidref ssidref) {
  auto deny = [](std::string reason) {
    return AdmissionDecision{Decision::kDeny, std::move(reason), {}};
  };
  const PolicySnapshot* p = policy_.get();
  if (p == nullptr) return deny("no policy is loaded");
  if (domain == DomainIndex::kReservedId || domains_.contains(domain)) {
    return deny(fmt::format("domain id {} is reserved or already running", domain));
  }
  if (index_.size() >= DomainIndex::kMaxDomains) {
    return deny(fmt::format("{} domains run, the limit", DomainIndex::kMaxDomains));
  }
  const bool labeled = p->has_chwall() || p->has_ste();
  const auto label = labeled ? p->VmLabelOf(ssidref) : std::optional<std::string>("");
  if (!label) {
    // Xen's init_domain_ssid range check (ACM_INIT_SSID_ERROR); stricter: VM rows only.
    return deny(fmt::format("ssidref {} is not a VM label of policy '{}'", ssidref, p->name()));
  }
  bool chwall_committed = false;
  for (PolicyCode code : {p->binary().primary, p->binary().secondary}) {
    if (code == PolicyCode::kChineseWall) {
      const std::uint32_t row = ChwallRowOf(*p, ssidref);
      if (chwall_.IsBlocked(*p, row)) {
        auto conflicts = ConflictsFor(row);
        auto reason = ConflictReason(*label, conflicts);
        return AdmissionDecision{Decision::kDeny, std::move(reason), std::move(conflicts)};
      }
      chwall_.Add(*p, row);
      chwall_committed = true;
    } else if (code == PolicyCode::kSimpleTypeEnforcement) {
      if (p->SteRow(ssidref).value_or(0xffff) >= p->vm_row_count()) {
        if (chwall_committed) chwall_.Remove(*p, ChwallRowOf(*p, ssidref));  // Xen's rollback
        return deny(fmt::format("ssidref {} has no STE VM row", ssidref));
      }
    }
  }
  const Ssidref stored = labeled ? ssidref : Ssidref{0};  // Xen forces 0 under NULL
  domains_[domain] = DomainRecord{stored, *label, ++next_order_};
  index_.Insert(domain, stored);
  return AdmissionDecision{Decision::kPermit, {}, {}};
}

Result<std::vector<Sharing>> Acm::DomainDestroy(DomainId domain) {
  std::lock_guard lock(mu_);
  auto it = domains_.find(domain);
  if (it == domains_.end()) {
    return Fail(ErrorCode::kNotFound, "domain {} is not running: nothing to destroy", domain);
  }
  if (domain == kDomain0) {
    return Fail(ErrorCode::kPermissionDenied,
                "Domain-0 (the management plane) cannot be destroyed");
  }
  if (policy_ && policy_->has_chwall()) {
    chwall_.Remove(*policy_, ChwallRowOf(*policy_, it->second.ssidref));
  }
  std::vector<Sharing> dropped;
  for (auto s = sharings_.begin(); s != sharings_.end();) {
    if (s->second.subject == domain || s->second.peer == domain) {
      dropped.push_back(std::move(s->second));
      s = sharings_.erase(s);
    } else {
      ++s;
    }
  }
  domains_.erase(it);
  index_.Erase(domain);
  if (index_.NeedsRebuild()) {
    BeginWrite();
    index_.Rebuild();
    EndWrite();
  }
  return dropped;
}

std::vector<DomainInfo> Acm::domains() const {
  std::lock_guard lock(mu_);
  std::vector<DomainInfo> out;
  for (const auto& [id, record] : OrderedDomains())
    out.push_back({id, record.ssidref, record.label});
  return out;
}

std::pair<std::vector<std::uint32_t>, std::vector<std::uint32_t>> Acm::chinese_wall_counts() const {
  std::lock_guard lock(mu_);
  auto running = chwall_.running_types();
  auto aggregate = chwall_.conflict_aggregate();
  return {{running.begin(), running.end()}, {aggregate.begin(), aggregate.end()}};
}

}  // namespace shype::acm
