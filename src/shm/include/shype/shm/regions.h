// SPDX-License-Identifier: Apache-2.0
//
// Regions holds shyped's shared-memory regions (a Region each, created at first use, freed when
// its last peer leaves) and is where the reference monitor governs them. A domain joins region
// NAME only if the ACM holds its sharing of the resource `shm:NAME` (its admission or a
// hotplug's check: its label against the region's) and, for every peer already attached, both
// a shared-memory and a doorbell sharing between the two domains (STE; all or none: one refused
// peer refuses the join, and a denial is audited by the ACM). When one of those sharings ends
// (the domain's end, a revocation by a policy update) the domain leaves the region: the other
// peers' QEMUs never hear of a later peer through it, and its device is unplugged (`unplug`).
// Not thread-safe: shyped's io thread only. Borrows the Acm and the SharingRegistry.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shype/acm/acm.h"
#include "shype/enforce/sharing_registry.h"
#include "shype/shm/region.h"

namespace shype::shm {

struct RegionView {
  std::string name;
  std::uint64_t size = 0;
  std::vector<PeerView> peers;
};

class Regions {
 public:
  // Called when a domain left a region while it may still map it (a revocation, a domain's
  // end): its enforcement must hot-unplug the device. Must not call back into Regions.
  using Unplug =
      std::function<void(DomainId domain, const std::string& region, std::string_view why)>;

  Regions(acm::Acm& acm, enforce::SharingRegistry& sharings, Unplug unplug);
  Regions(const Regions&) = delete;
  Regions& operator=(const Regions&) = delete;
  ~Regions();

  // The resource name of region `name`: "shm:<name>".
  static std::string ResourceOf(const std::string& name) { return "shm:" + name; }

  struct Attachment {
    std::string region;
    PeerId peer{0};
    std::uint64_t size = 0;
    UniqueFd qemu;  // the server socket's QEMU end (the setup is in it already)
  };
  // Joins `domain` to region `name` of `size` bytes (created if it does not exist). Errors:
  // kPermissionDenied (no sharing of shm:<name>; a peer the domain may not share with, named),
  // kConflict (the region exists with another size; the domain is attached already),
  // Region's errors.
  [[nodiscard]] Result<Attachment> Join(DomainId domain, const std::string& name,
                                        std::uint64_t size);
  // Removes `domain` from region `name` and ends its pair sharings: the teardown of its
  // shm:<name> sharing. Calls `unplug`.
  void LeaveAll(DomainId domain, const std::string& name, std::string_view why);
  // Removes one peer without unplugging (a create or hotplug that failed before QEMU had it).
  void Abandon(const std::string& name, PeerId peer, std::string_view why);

  std::vector<RegionView> List() const;
  // The domains that may map a region's memory with `domain` while the ACM holds no pair sharing
  // of the two (one of them left the region while it runs: lingering), with the region's name:
  // what a relabel of `domain` must re-check beside its live sharings.
  std::vector<std::pair<DomainId, std::string>> UnpairedPeers(DomainId domain) const;

 private:
  struct PeerEntry {
    PeerId peer{0};
    DomainId domain{0};
    // The sharings its join registered (it is their subject), with the peer's domain.
    std::vector<std::pair<DomainId, acm::SharingId>> pairs;
  };
  struct Entry {
    std::unique_ptr<Region> region;
    std::vector<PeerEntry> peers;
    // Domains taken out while they run (revocations): until they end they may still map the
    // memory, so every joiner must be one they may share with (the region stays while they do).
    std::vector<DomainId> lingering;
  };
  bool Runs(DomainId domain) const;  // the ACM knows it (it has not ended)
  // Removes the peer, ends every pair sharing it is part of, frees an emptied region.
  void Remove(const std::string& name, PeerId peer, bool unplug, std::string_view why);
  // The teardown of pair sharing `id` (subject `sharing.subject`, peer `sharing.peer`).
  void PairEnded(const std::string& name, const acm::Sharing& sharing, std::string_view why);
  // Registers the join's pair sharings with each present peer; on a refusal releases them.
  [[nodiscard]] Result<std::vector<std::pair<DomainId, acm::SharingId>>> Pairs(
      DomainId domain, const std::string& name, const Entry& entry);

  acm::Acm& acm_;
  enforce::SharingRegistry& sharings_;
  Unplug unplug_;
  std::map<std::string, Entry> regions_;
};

}  // namespace shype::shm
