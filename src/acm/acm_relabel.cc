// SPDX-License-Identifier: Apache-2.0
//
// Live relabel of a running domain or of Domain-0 (spec-acm §5.3, §6.5): the new label is
// checked with the update transaction's own checks (Chinese Wall replay, sharing re-check) over
// the running domains with only this domain's label changed, then committed in one seqlock write
// section, or nothing changes. Xen set the new ssidref, re-ran both components' init checks and
// restored the old ssidrefs on a failure; checking first is the same all-or-nothing.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "acm_update_plan.h"
#include "rules.h"
#include "shype/acm/acm.h"

namespace shype::acm {

namespace {

bool Involves(const Violation& v, DomainId domain) {
  return std::find(v.domains.begin(), v.domains.end(), domain) != v.domains.end();
}

// One side of a check: a domain with the label it would have.
struct Party {
  DomainId id;
  Ssidref ssidref;
  std::string_view label;
};

// A peer the relabeled domain shares with outside the monitor's sharings (RelabelPeer): STE as
// for a live peer sharing.
std::optional<Violation> PeerViolation(const PolicySnapshot& p, const Party& self,
                                       const Party& peer, std::string_view what) {
  if (!p.has_ste()) return std::nullopt;
  const auto a = p.SteRow(self.ssidref);
  const auto b = p.SteRow(peer.ssidref);
  if (a && b && p.SteBits(*a).Intersects(p.SteBits(*b))) return std::nullopt;
  auto types = a ? p.SteTypeNames(*a) : std::vector<std::string>{};
  const auto peer_types = b ? p.SteTypeNames(*b) : std::vector<std::string>{};
  std::string message = fmt::format(
      "{} shared by domains {} and {}: labels '{}' (types {}) and '{}' (types {}) would share "
      "no STE type with the new label",
      what, self.id, peer.id, self.label, fmt::join(types, ", "), peer.label,
      fmt::join(peer_types, ", "));
  types.insert(types.end(), peer_types.begin(), peer_types.end());
  return Violation{ViolationKind::kSharingBroken,
                   std::move(message),
                   {self.id, peer.id},
                   std::move(types),
                   std::nullopt};
}

}  // namespace

// Long: one lock section: the label rules, authorization, both re-checks, then commit or audit.
Result<Relabel> Acm::RelabelDomain(DomainId domain, Ssidref ssidref,
                                   std::span<const RelabelPeer> peers) {
  Relabel out;
  AuditRecord record;
  {
    std::lock_guard lock(mu_);
    const PolicySnapshot* p = policy_.get();
    if (p == nullptr) return Fail(ErrorCode::kUnavailable, "no policy is loaded");
    auto it = domains_.find(domain);
    if (it == domains_.end()) {
      return Fail(ErrorCode::kNotFound, "domain {} is not running: nothing to relabel", domain);
    }
    const DomainRecord old = it->second;
    out.verdict = VmLabelVerdict(p, ssidref);
    out.verdict.rule = Hook::kRelabel;
    if (out.verdict.permitted() && !p->has_chwall() && !p->has_ste()) {
      out.verdict.decision = Decision::kDeny;
      out.verdict.reason = fmt::format("policy '{}' has no labels to relabel with", p->name());
    }
    // SECURITY: a guest's new label needs Domain-0's authorization, as at its start: a relabel
    // must not reach a label create would refuse.
    if (out.verdict.permitted() && domain != kDomain0) {
      out.verdict = AuthorizationLocked(ssidref);
    }
    const std::string label = p->VmLabelOf(ssidref).value_or("");
    if (out.verdict.permitted()) {
      UpdatePlan plan;
      plan.under = "with the new label";
      for (const auto& [id, r] : domains_) plan.translated[id] = r;
      plan.translated[domain] = DomainRecord{ssidref, label, old.order};
      PlanChineseWall(*p, plan);
      PlanSharings(*p, UpdateRequest{}, plan);
      if (domain == kDomain0) plan.PlanAuthorization(*p);  // a guest's own is checked above
      for (Violation& v : plan.violations) {
        if (Involves(v, domain)) out.violations.push_back(std::move(v));
      }
      for (const RelabelPeer& peer : peers) {
        auto other = domains_.find(peer.peer);
        if (other == domains_.end() || peer.peer == domain) continue;  // it has ended
        const Party self{domain, ssidref, label};
        const Party them{peer.peer, other->second.ssidref, other->second.label};
        if (auto v = PeerViolation(*p, self, them, peer.what)) {
          out.violations.push_back(std::move(*v));
        }
      }
      if (!out.violations.empty()) {
        std::vector<std::string> messages;
        for (const Violation& v : out.violations) messages.push_back(v.message);
        out.verdict.decision = Decision::kDeny;
        out.verdict.reason = fmt::format("{}", fmt::join(messages, "; "));
      }
    }
    if (out.verdict.permitted()) out.verdict.rule = Hook::kRelabel;  // not kAuthorization
    record = MakeRecord(
        Hook::kRelabel, p,
        out.verdict.permitted()
            ? fmt::format("relabeled from '{}' to '{}'", old.label, label)
            : fmt::format("relabel from '{}' to '{}' refused: {}", old.label,
                          label.empty() ? fmt::format("{}", ssidref) : label, out.verdict.reason));
    record.action = "relabel";
    record.subject = DomainParty(p, domain, ssidref);
    if (!out.violations.empty()) {
      const Violation& first = out.violations.front();
      auto other = std::find_if(first.domains.begin(), first.domains.end(),
                                [&](DomainId d) { return d != domain; });
      if (other != first.domains.end()) {
        record.object = DomainParty(p, *other, domains_.at(*other).ssidref);
      } else if (first.sharing) {
        const Sharing& s = sharings_.at(*first.sharing);
        record.object.resource = s.resource;
        record.object.label = s.resource_label;
      }
    }
    if (out.verdict.permitted()) {
      record.decision = Decision::kPermit;
      BeginWrite();
      it->second.ssidref = ssidref;
      it->second.label = label;
      tables().index.Set(domain, ssidref);
      EndWrite();
      RebuildChineseWall();
    }
  }
  Count(Hook::kRelabel, true, !out.verdict.permitted(), false);
  Audit(std::move(record));
  return out;
}

}  // namespace shype::acm
