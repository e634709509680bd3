// SPDX-License-Identifier: Apache-2.0
//
// Acm writer side: policy load and publication (seqlock + retained snapshots), domain admission
// (the label rules, then the Chinese Wall), destruction, and the Chinese Wall / authorization
// queries.
#include "shype/acm/acm.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <utility>

#include "acm_tables.h"
#include "rules.h"
#include "shype/policy/dump.h"

namespace shype::acm {

Acm::Acm(const Clock& clock, AuditSink& audit) : clock_(clock), audit_(audit) {
  static_assert(sizeof(Tables) <= kTablesBytes && alignof(Tables) <= 64,
                "Acm::kTablesBytes must hold the tables of acm_tables.h: raise it");
  new (tables_.data()) Tables();
}

Acm::~Acm() { tables().~Tables(); }

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
  tables().cache.Clear();
}

std::optional<LoadedPolicy> Acm::active_policy() const {
  std::lock_guard lock(mu_);
  if (!policy_) return std::nullopt;
  return LoadedPolicy(policy_);
}

std::string Acm::DumpPolicy() const {
  std::shared_ptr<const PolicySnapshot> p;
  std::vector<std::uint16_t> running, aggregate;
  {
    std::lock_guard lock(mu_);
    if (!policy_) return {};
    p = policy_;
    // Xen keeps these counters as u16; show them as it would.
    for (std::uint32_t x : tables().chwall.running_types()) {
      running.push_back(static_cast<std::uint16_t>(std::min<std::uint32_t>(x, 0xffff)));
    }
    for (std::uint32_t x : tables().chwall.conflict_aggregate()) {
      aggregate.push_back(static_cast<std::uint16_t>(std::min<std::uint32_t>(x, 0xffff)));
    }
  }
  policy::ChwallLiveState live;
  if (p->has_chwall()) {
    live.running_types = std::span<const std::uint16_t>(running);
    live.conflict_aggregate = std::span<const std::uint16_t>(aggregate);
  }
  return policy::DumpBinaryPolicy(p->binary(), LoadedPolicy(p).bootstrap_ssidref(), live);
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
  tables().chwall.Reset(active ? policy_->binary().chwall->max_types() : 0);
  if (!active) return;
  for (const auto& [id, record] : OrderedDomains()) {
    tables().chwall.Add(*policy_, ChwallRowOf(*policy_, record.ssidref));
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
  DomainRecord dom0{labeled ? kBootstrapSsidref : Ssidref{0},
                    labeled ? std::string(p.labels().bootstrap_label()) : std::string(), 0};
  BeginWrite();
  if (domains_.contains(kDomain0)) {
    tables().index.Set(kDomain0, dom0.ssidref);
  } else {
    tables().index.Insert(kDomain0, dom0.ssidref);
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
  for (std::uint32_t t : tables().chwall.BlockedTypes(p, row)) {
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

Verdict Acm::CheckDomainCreate(DomainId domain, Ssidref ssidref) {
  Verdict result;
  AuditRecord record;
  {
    std::lock_guard lock(mu_);
    result = AdmitLocked(domain, ssidref);
    if (!result.permitted()) {
      record = MakeRecord(Hook::kDomainCreate, policy_.get(), result.reason);
      record.subject = DomainParty(policy_.get(), domain, ssidref);
    }
  }
  Count(Hook::kDomainCreate, true, !result.permitted(), false);
  if (!result.permitted()) Audit(std::move(record));
  return result;
}

Admission Acm::AdmitDomain(DomainId domain, Ssidref ssidref,
                           std::span<const ResourceRef> resources) {
  Admission out;
  AuditRecord record;
  {
    std::lock_guard lock(mu_);
    const PolicySnapshot* p = policy_.get();
    out.verdict = AuthorizationLocked(ssidref);
    if (out.verdict.permitted()) out.verdict = AdmitLocked(domain, ssidref);
    // STE for each resource against the label as recorded (0 under the NULL policy).
    std::size_t refused = 0;  // the resource an STE denial is about
    for (; out.verdict.permitted() && refused < resources.size(); ++refused) {
      const ResourceRef& resource = resources[refused];
      Verdict ste = SteVerdict(p, domains_.at(domain).ssidref, resource);
      if (!ste.permitted()) {
        (void)RemoveLocked(domain);  // nothing of a refused admission stays recorded
        out.sharings.clear();
        out.verdict = std::move(ste);
        break;  // `refused` stays on the denied resource
      }
      out.sharings.push_back(
          RecordSharingLocked(ResourceSharing(domain, resource), resource.ssidref));
    }
    if (!out.verdict.permitted()) {
      record = MakeRecord(out.verdict.rule, p, out.verdict.reason);
      record.subject = DomainParty(p, domain, ssidref);
      if (out.verdict.rule == Hook::kAuthorization) {
        record.subject =
            DomainParty(p, kDomain0,
                        domains_.contains(kDomain0) ? std::optional(domains_.at(kDomain0).ssidref)
                                                    : std::nullopt);
        record.object = DomainParty(p, domain, ssidref);
      } else if (out.verdict.rule == Hook::kResource) {
        const auto& bad = resources[refused];
        record.object = ResourceParty(p, bad.name, bad.ssidref);
      }
    }
  }
  Count(out.verdict.rule, true, !out.verdict.permitted(), false);
  if (!out.verdict.permitted()) Audit(std::move(record));
  return out;
}

Verdict Acm::AdmitLocked(DomainId domain, Ssidref ssidref) {
  auto deny = [](std::string reason) {
    Verdict v;
    v.rule = Hook::kDomainCreate;
    v.reason = std::move(reason);
    return v;
  };
  const PolicySnapshot* p = policy_.get();
  if (p == nullptr) return deny("no policy is loaded");
  if (domain == DomainIndex::kReservedId || domains_.contains(domain)) {
    return deny(fmt::format("domain id {} is reserved or already running", domain));
  }
  if (tables().index.size() >= DomainIndex::kMaxDomains) {
    return deny(fmt::format("{} domains run, the limit", DomainIndex::kMaxDomains));
  }
  // The label rules (range, __NULL_LABEL__, STE VM row): the same function answers dry-run.
  Verdict label = VmLabelVerdict(p, ssidref);
  if (!label.permitted()) return label;
  const bool labeled = p->has_chwall() || p->has_ste();
  if (p->has_chwall()) {
    Verdict wall = ChineseWallLocked(ssidref);
    if (!wall.permitted()) {
      wall.rule = Hook::kDomainCreate;
      return wall;
    }
    tables().chwall.Add(*p, ChwallRowOf(*p, ssidref));
  }
  const Ssidref stored = labeled ? ssidref : Ssidref{0};  // Xen forces 0 under NULL
  domains_[domain] = DomainRecord{stored, label.subject_label, ++next_order_};
  tables().index.Insert(domain, stored);
  return label;
}

std::vector<Sharing> Acm::RemoveLocked(DomainId domain) {
  std::vector<Sharing> dropped;
  auto it = domains_.find(domain);
  if (it == domains_.end()) return dropped;
  if (policy_ && policy_->has_chwall()) {
    tables().chwall.Remove(*policy_, ChwallRowOf(*policy_, it->second.ssidref));
  }
  for (auto s = sharings_.begin(); s != sharings_.end();) {
    if (s->second.subject == domain || s->second.peer == domain) {
      dropped.push_back(std::move(s->second));
      s = sharings_.erase(s);
    } else {
      ++s;
    }
  }
  domains_.erase(it);
  tables().index.Erase(domain);
  if (tables().index.NeedsRebuild()) {
    BeginWrite();
    tables().index.Rebuild();
    EndWrite();
  }
  return dropped;
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
  return RemoveLocked(domain);
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
  auto running = tables().chwall.running_types();
  auto aggregate = tables().chwall.conflict_aggregate();
  return {{running.begin(), running.end()}, {aggregate.begin(), aggregate.end()}};
}

}  // namespace shype::acm
