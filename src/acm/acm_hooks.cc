// SPDX-License-Identifier: Apache-2.0
//
// The lock-free STE decision path (CheckShare, CheckResourceAccess) and the registry of live
// sharings. A reader pins nothing: it reads the active snapshot pointer and the domains' ssidrefs
// inside a seqlock read section, and snapshots are retained for the Acm's lifetime.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "acm_tables.h"
#include "rules.h"
#include "shype/acm/acm.h"
#include "thread_slot.h"

namespace shype::acm {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

struct Acm::SteOutcome {
  enum class Why : std::uint8_t {
    kPermitted,
    kNoPolicy,
    kUnknownSubject,
    kUnknownObject,
    kOutOfRange,
    kNoCommonType,
  };
  Decision decision = Decision::kDeny;
  Why why = Why::kNoPolicy;
  bool evaluated = false;
  bool cache_hit = false;
  const PolicySnapshot* policy = nullptr;
  std::optional<Ssidref> subject;
  std::optional<Ssidref> object;
};

Acm::SteOutcome Acm::DecideSteOnce(const PolicySnapshot* p, std::optional<Ssidref> subject,
                                   std::optional<Ssidref> object) {
  using Why = SteOutcome::Why;
  SteOutcome out{Decision::kDeny, Why::kNoPolicy, false, false, p, subject, object};
  if (p == nullptr) return out;
  if (!subject || !object) {
    out.why = subject ? Why::kUnknownObject : Why::kUnknownSubject;
    return out;
  }
  const SteRows rows = SteRowsOf(p, *subject, *object);
  switch (rows.step) {
    case SteRows::Step::kNoPolicy:  // p is not null
    case SteRows::Step::kOutOfRange:
      out.why = Why::kOutOfRange;
      return out;
    case SteRows::Step::kNotMediated:
      out.decision = Decision::kPermit;
      out.why = Why::kPermitted;
      out.evaluated = true;
      return out;
    case SteRows::Step::kCompare:
      break;
  }
  const std::uint16_t a = rows.subject, b = rows.object;
  if (auto hit = tables().cache.Find(p->seqno().value(), a, b)) {
    out.decision = *hit;
    out.cache_hit = true;
  } else {
    out.decision = SteRowsShareAType(*p, rows) ? Decision::kPermit : Decision::kDeny;
    out.evaluated = true;
    // The entry is a function of (snapshot, rows) only, so inserting it is correct even if the
    // seqlock read section below turns out to be torn.
    tables().cache.Insert(p->seqno().value(), a, b, out.decision);
  }
  out.why = out.decision == Decision::kPermit ? Why::kPermitted : Why::kNoCommonType;
  return out;
}

Acm::SteOutcome Acm::DecideSte(DomainId subject, std::optional<DomainId> peer, Ssidref resource) {
  for (;;) {
    const std::uint64_t generation = generation_.load(std::memory_order_acquire);
    if ((generation & 1U) == 0) {
      const PolicySnapshot* p = active_.load(std::memory_order_acquire);
      const auto s = tables().index.Find(subject);
      const auto o = peer ? tables().index.Find(*peer) : std::optional<Ssidref>(resource);
      SteOutcome out = DecideSteOnce(p, s, o);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (generation_.load(std::memory_order_relaxed) == generation) return out;
    }
    CpuRelax();
  }
}

// The fast path: a permit found in the cache inside one clean seqlock read section. Anything
// else (miss, deny, unknown domain, torn read) returns false and takes the full path.
[[gnu::always_inline]] inline bool Acm::TryCachedPermit(Hook hook, DomainId subject, DomainId peer,
                                                        bool has_peer, Ssidref resource) {
  const std::uint64_t generation = generation_.load(std::memory_order_acquire);
  const PolicySnapshot* p = active_.load(std::memory_order_acquire);
  if ((generation & 1U) != 0 || p == nullptr) return false;
  const std::uint64_t s = tables().index.FindRaw(subject);
  const std::uint64_t o = has_peer ? tables().index.FindRaw(peer) : std::uint64_t{resource.value()};
  if (((s | o) & DomainIndex::kNotFound) != 0) return false;
  const std::uint32_t a = p->SteRowUnchecked(Ssidref{static_cast<std::uint32_t>(s)});
  const std::uint32_t b = p->SteRowUnchecked(Ssidref{static_cast<std::uint32_t>(o)});
  const std::uint32_t lo = a < b ? a : b;
  const std::uint32_t hi = a < b ? b : a;
  // No has_ste() test: without STE, ste_row_count() is 0 and no row is in range.
  if (hi >= p->ste_row_count()) return false;
  if (!tables().cache.IsCachedPermitOrdered(p->seqno().value(), lo, hi)) return false;
  std::atomic_thread_fence(std::memory_order_acquire);
  if (generation_.load(std::memory_order_relaxed) != generation) return false;
  const auto h = static_cast<std::size_t>(hook);
  CountOne([&](std::uint32_t slot) -> auto& { return counters_[slot].hooks[h].cache_hits; });
  return true;
}

Decision Acm::FinishSte(Hook hook, DomainId subject, std::optional<DomainId> peer,
                        const SteOutcome& out, std::string resource) {
  const bool denied = out.decision == Decision::kDeny;
  Count(hook, out.evaluated, denied, out.cache_hit);
  if (!denied) return Decision::kPermit;
  using Why = SteOutcome::Why;
  const PolicySnapshot* p = out.policy;
  AuditRecord record = MakeRecord(hook, p, {});
  record.subject = DomainParty(p, subject, out.subject);
  record.object = peer ? DomainParty(p, *peer, out.object)
                       : ResourceParty(p, std::move(resource), out.object.value_or(Ssidref{0}));
  switch (out.why) {
    case Why::kPermitted:
      break;
    case Why::kNoPolicy:
      record.reason = "no policy is loaded";
      break;
    case Why::kUnknownSubject:
      record.reason = fmt::format("domain {} is not running", subject);
      break;
    case Why::kUnknownObject:
      record.reason = fmt::format("domain {} is not running", peer.value_or(DomainId{0}));
      break;
    case Why::kOutOfRange:
      record.reason = fmt::format("an ssidref is outside the STE rows of policy '{}'", p->name());
      break;
    case Why::kNoCommonType:
      record.reason = fmt::format("labels '{}' and '{}' share no STE type", record.subject.label,
                                  record.object.label);
      break;
  }
  Audit(std::move(record));
  return Decision::kDeny;
}

Decision Acm::CheckShare(DomainId subject, DomainId object, ShareKind kind) {
  if (TryCachedPermit(HookOf(kind), subject, object, true, Ssidref{0})) return Decision::kPermit;
  return DecideShareUncached(HookOf(kind), subject, object);
}

Decision Acm::CheckResourceAccess(DomainId subject, Ssidref resource, ResourceKind kind) {
  // An open network never goes through the cache: it is keyed on ssidrefs, and the unlabeled
  // row is denied for disks.
  if (!IsOpenNetwork(kind, resource) &&
      TryCachedPermit(Hook::kResource, subject, DomainId{0}, false, resource)) {
    return Decision::kPermit;
  }
  return DecideResourceUncached(subject, resource, kind);
}

// Out of line so that the cached paths above stay small leaf functions.
[[gnu::noinline]] Decision Acm::DecideShareUncached(Hook hook, DomainId subject, DomainId peer) {
  return FinishSte(hook, subject, peer, DecideSte(subject, peer, Ssidref{0}), {});
}

[[gnu::noinline]] Decision Acm::DecideResourceUncached(DomainId subject, Ssidref resource,
                                                       ResourceKind kind) {
  SteOutcome out = DecideSte(subject, std::nullopt, resource);
  if (IsOpenNetwork(kind, resource)) PermitOpenNetwork(out);
  return FinishSte(Hook::kResource, subject, std::nullopt, out,
                   std::string(ResourceKindName(kind)));
}

// IsOpenNetwork: any running domain, under a loaded policy, whatever the STE rows say.
void Acm::PermitOpenNetwork(SteOutcome& out) {
  if (out.why == SteOutcome::Why::kUnknownSubject || out.why == SteOutcome::Why::kNoPolicy) return;
  out.decision = Decision::kPermit;
  out.why = SteOutcome::Why::kPermitted;
}

Result<SharingId> Acm::RegisterSharing(DomainId subject, DomainId peer, ShareKind kind) {
  Sharing sharing;
  sharing.subject = subject;
  sharing.peer = peer;
  sharing.share_kind = kind;
  return AddSharing(std::move(sharing), HookOf(kind), Ssidref{0});
}

Result<SharingId> Acm::RegisterSharing(DomainId subject, const ResourceRef& resource) {
  return AddSharing(ResourceSharing(subject, resource), Hook::kResource, resource.ssidref);
}

Sharing Acm::ResourceSharing(DomainId subject, const ResourceRef& resource) {
  Sharing sharing;
  sharing.subject = subject;
  sharing.resource_kind = resource.kind;
  sharing.resource = resource.name;
  return sharing;
}

SharingId Acm::RecordSharingLocked(Sharing sharing, Ssidref resource) {
  // An unlabeled network keeps no label: a policy update re-checks its pairs, not it.
  if (!sharing.peer && policy_->has_ste() &&
      !IsOpenNetwork(sharing.resource_kind.value_or(ResourceKind::kDisk), resource)) {
    sharing.resource_label = std::string(policy_->SteRowLabel(*policy_->SteRow(resource)));
  }
  sharing.id = SharingId{next_sharing_++};
  const SharingId id = sharing.id;
  sharings_.emplace(id, std::move(sharing));
  return id;
}

// Decides and records under the writers' mutex, so no policy update can slip between the check
// and the registration (an update re-checks every recorded sharing).
Result<SharingId> Acm::AddSharing(Sharing sharing, Hook hook, Ssidref resource) {
  SteOutcome out;
  std::optional<SharingId> id;
  {
    std::lock_guard lock(mu_);
    auto find = [&](DomainId d) -> std::optional<Ssidref> {
      auto it = domains_.find(d);
      return it == domains_.end() ? std::nullopt : std::optional(it->second.ssidref);
    };
    const auto object = sharing.peer ? find(*sharing.peer) : std::optional(resource);
    out = DecideSteOnce(policy_.get(), find(sharing.subject), object);
    if (!sharing.peer && sharing.resource_kind && IsOpenNetwork(*sharing.resource_kind, resource)) {
      PermitOpenNetwork(out);
    }
    if (out.decision == Decision::kPermit) id = RecordSharingLocked(sharing, resource);
  }
  if (FinishSte(hook, sharing.subject, sharing.peer, out, sharing.resource) == Decision::kPermit) {
    return *id;
  }
  using Why = SteOutcome::Why;
  if (out.why == Why::kUnknownSubject || out.why == Why::kUnknownObject) {
    return Fail(ErrorCode::kNotFound, "sharing refused: a domain of it is not running");
  }
  return Fail(ErrorCode::kPermissionDenied,
              "sharing refused by policy: the labels share no STE type");
}

Result<void> Acm::ReleaseSharing(SharingId id) {
  std::lock_guard lock(mu_);
  if (sharings_.erase(id) == 0) {
    return Fail(ErrorCode::kNotFound, "sharing {} is not live", id);
  }
  return {};
}

std::optional<Sharing> Acm::FindSharing(SharingId id) const {
  std::lock_guard lock(mu_);
  auto it = sharings_.find(id);
  if (it == sharings_.end()) return std::nullopt;
  return it->second;
}

std::vector<Sharing> Acm::sharings() const {
  std::lock_guard lock(mu_);
  std::vector<Sharing> out;
  for (const auto& [id, sharing] : sharings_) out.push_back(sharing);
  return out;
}

}  // namespace shype::acm
