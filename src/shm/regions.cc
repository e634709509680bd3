// SPDX-License-Identifier: Apache-2.0
//
// Regions: joining domains to shared-memory regions as the ACM permits (regions.h).
#include "shype/shm/regions.h"

#include <algorithm>

#include "shype/common/log.h"

namespace shype::shm {

Regions::Regions(acm::Acm& acm, enforce::SharingRegistry& sharings, Unplug unplug)
    : acm_(acm), sharings_(sharings), unplug_(std::move(unplug)) {}

Regions::~Regions() = default;

bool Regions::Runs(DomainId domain) const { return enforce::IsRecorded(acm_, domain); }

Result<std::vector<std::pair<DomainId, acm::SharingId>>> Regions::Pairs(DomainId domain,
                                                                        const std::string& name,
                                                                        const Entry& entry) {
  std::vector<std::pair<DomainId, acm::SharingId>> pairs;
  auto release_all = [&] {
    for (const auto& [peer, id] : pairs) (void)acm_.ReleaseSharing(id);
  };
  // SECURITY: a peer taken out while it runs (a revocation) may still map the memory until its
  // guest acknowledges the unplug: a joiner must be one it may share with, as if it were there.
  for (DomainId lingering : entry.lingering) {
    if (acm_.CheckShare(domain, lingering, acm::ShareKind::kSharedMemory) !=
        acm::Decision::kPermit) {
      return Fail(ErrorCode::kPermissionDenied,
                  "domain {} may not join region '{}': domain {}, taken out of it while it runs, "
                  "may still map it, and the two may not share",
                  domain.value(), name, lingering.value());
    }
  }
  for (const PeerEntry& present : entry.peers) {
    // SECURITY: the memory and the doorbells are two grants, each the ACM's decision (STE, a
    // denial audited there); all of them or none: a domain never sees memory some peer in it
    // may not share with it.
    for (acm::ShareKind kind : {acm::ShareKind::kSharedMemory, acm::ShareKind::kDoorbell}) {
      auto shared = acm_.RegisterSharing(domain, present.domain, kind);
      if (!shared) {
        release_all();
        return Fail(shared.error().code,
                    "domain {} may not join region '{}': it may not share {} with domain {}, "
                    "a peer there ({})",
                    domain.value(), name, acm::ShareKindName(kind), present.domain.value(),
                    shared.error().message);
      }
      pairs.emplace_back(present.domain, *shared);
    }
  }
  return pairs;
}

// Long: the join transaction (admission, size, pairs, server setup, teardowns), undone in order.
Result<Regions::Attachment> Regions::Join(DomainId domain, const std::string& name,
                                          std::uint64_t size) {
  const std::string resource = ResourceOf(name);
  // SECURITY: a peer only for a domain the monitor admitted to this region (its label checked
  // against the region's there); Regions takes no label decision of its own.
  if (!enforce::FindResourceSharing(acm_, domain, acm::ResourceKind::kSharedMemory, resource)) {
    return Fail(ErrorCode::kPermissionDenied,
                "domain {} holds no admission to region '{}' ({}): attach it through create or "
                "shm-attach, which check its label against the region's",
                domain.value(), name, resource);
  }
  auto it = regions_.find(name);
  if (it != regions_.end()) {
    std::erase_if(it->second.lingering, [&](DomainId d) { return !Runs(d); });
    if (it->second.region->size() != size) {
      return Fail(ErrorCode::kConflict,
                  "region '{}' exists with size {} bytes; domain {} asked for {} (the sizes of "
                  "one region must agree)",
                  name, it->second.region->size(), domain.value(), size);
    }
    const auto& peers = it->second.peers;
    if (std::any_of(peers.begin(), peers.end(),
                    [&](const PeerEntry& p) { return p.domain == domain; })) {
      return Fail(ErrorCode::kConflict, "domain {} is attached to region '{}' already",
                  domain.value(), name);
    }
  }
  const bool created = it == regions_.end();
  if (created) {
    auto region = Region::Create(name, size);
    if (!region) return Fail(region.error());
    it = regions_.emplace(name, Entry{std::move(*region), {}, {}}).first;
  }
  Entry& entry = it->second;
  auto drop_created = [&] {
    if (created) regions_.erase(name);
  };
  auto pairs = Pairs(domain, name, entry);
  if (!pairs) {
    drop_created();
    return Fail(pairs.error());
  }
  auto joined = entry.region->Join(domain);
  if (!joined) {
    for (const auto& [peer, id] : *pairs) (void)acm_.ReleaseSharing(id);
    drop_created();
    return Fail(joined.error());
  }
  entry.peers.push_back(PeerEntry{joined->id, domain, *pairs});
  for (const auto& [peer, id] : *pairs) {
    auto added = sharings_.Add(
        id, [this, name](const acm::Sharing& s, std::string_view why) { PairEnded(name, s, why); });
    if (!added) {  // cannot happen (the ids are new); undo the whole join
      Remove(name, joined->id, false, "its join failed");
      return Fail(added.error());
    }
  }
  log::Info("region '{}' ({} bytes): domain {} joined as peer {}", name, size, domain.value(),
            joined->id.value());
  return Attachment{name, joined->id, size, std::move(joined->qemu)};
}

void Regions::PairEnded(const std::string& name, const acm::Sharing& sharing,
                        std::string_view why) {
  auto it = regions_.find(name);
  if (it == regions_.end() || !sharing.peer) return;
  // A pair Remove released itself (its domains' peer entries no longer list it) changes nothing:
  // the later joiners stay when an earlier peer leaves.
  const auto& peers = it->second.peers;
  const bool recorded = std::any_of(peers.begin(), peers.end(), [&](const PeerEntry& p) {
    return std::any_of(p.pairs.begin(), p.pairs.end(),
                       [&](const auto& pair) { return pair.second == sharing.id; });
  });
  if (!recorded) return;
  // A pair ends because one of its domains ends (the ACM forgot it: that one leaves, its own
  // teardown would remove it too) or because a policy update revoked it while both run: then
  // the later of the two to join (the sharing's subject) leaves.
  const DomainId leaving = !Runs(*sharing.peer) ? *sharing.peer : sharing.subject;
  for (const PeerEntry& p : it->second.peers) {
    if (p.domain == leaving) {
      Remove(name, p.peer, true, why);
      return;
    }
  }
}

void Regions::LeaveAll(DomainId domain, const std::string& name, std::string_view why) {
  auto it = regions_.find(name);
  if (it == regions_.end()) return;
  for (const PeerEntry& p : it->second.peers) {
    if (p.domain == domain) {
      Remove(name, p.peer, true, why);
      return;
    }
  }
}

void Regions::Abandon(const std::string& name, PeerId peer, std::string_view why) {
  Remove(name, peer, false, why);
}

void Regions::Remove(const std::string& name, PeerId peer, bool unplug, std::string_view why) {
  auto it = regions_.find(name);
  if (it == regions_.end()) return;
  Entry& entry = it->second;
  auto p = std::find_if(entry.peers.begin(), entry.peers.end(),
                        [&](const PeerEntry& e) { return e.peer == peer; });
  if (p == entry.peers.end()) return;
  const DomainId domain = p->domain;
  std::vector<acm::SharingId> ended;
  for (const auto& [other, id] : p->pairs) ended.push_back(id);
  entry.peers.erase(p);
  // The later joiners' pairs with the leaving domain end too; they stay in the region.
  for (PeerEntry& other : entry.peers) {
    std::erase_if(other.pairs, [&](const auto& pair) {
      if (pair.first != domain) return false;
      ended.push_back(pair.second);
      return true;
    });
  }
  // SECURITY: from here it gets no new peer's eventfd; the device's unplug ends its doorbells.
  entry.region->Leave(peer);
  const std::uint64_t size = entry.region->size();
  std::erase_if(entry.lingering, [&](DomainId d) { return !Runs(d); });
  if (unplug && Runs(domain)) entry.lingering.push_back(domain);
  if (entry.peers.empty() && entry.lingering.empty()) {
    regions_.erase(it);  // the memory goes with the last peer's mapping
  }
  // Released after the region state is final: their teardowns find nothing left to do. The ACM
  // may have dropped some already (a revocation, the domain's end).
  for (acm::SharingId id : ended) (void)sharings_.Release(id, why);
  log::Info("region '{}' ({} bytes): domain {} (peer {}) left ({})", name, size, domain.value(),
            peer.value(), why);
  if (unplug && unplug_) unplug_(domain, name, why);
}

std::vector<std::pair<DomainId, std::string>> Regions::UnpairedPeers(DomainId domain) const {
  std::vector<std::pair<DomainId, std::string>> out;
  for (const auto& [name, entry] : regions_) {
    const auto& lingering = entry.lingering;
    const bool lingers = std::find(lingering.begin(), lingering.end(), domain) != lingering.end();
    const bool present = std::any_of(entry.peers.begin(), entry.peers.end(),
                                     [&](const PeerEntry& p) { return p.domain == domain; });
    // Lingering, it may map the memory beside everyone there; present, beside the lingering
    // (its pairs with the present ones are the ACM's sharings).
    if (lingers) {
      for (const PeerEntry& p : entry.peers) out.emplace_back(p.domain, name);
    }
    if (lingers || present) {
      for (DomainId other : lingering) {
        if (other != domain && Runs(other)) out.emplace_back(other, name);
      }
    }
  }
  return out;
}

std::vector<RegionView> Regions::List() const {
  std::vector<RegionView> out;
  for (const auto& [name, entry] : regions_) {
    out.push_back(RegionView{name, entry.region->size(), entry.region->Peers()});
  }
  return out;
}

}  // namespace shype::shm
