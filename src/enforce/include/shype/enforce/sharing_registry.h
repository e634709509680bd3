// SPDX-License-Identifier: Apache-2.0
//
// SharingRegistry owns the teardown of every live sharing. Each sharing the ACM recorded (a
// domain's disk, later a switch port, a shared-memory region, a doorbell) is registered with how
// its enforcement point undoes it; a domain's end (destroy, QEMU exit, a failed create, a refused
// recovery), a revocation by a policy update and a single release all go through here, so the
// monitor and the enforcement points never disagree about what is shared.
// Not thread-safe: shyped's io thread only. Borrows the Acm.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "shype/acm/acm.h"
#include "shype/common/result.h"

namespace shype::enforce {

// The ACM's live sharing of `resource` (of `kind`) by `domain`, if it holds one: what an
// enforcement point checks before it serves a domain a named resource (a network, a region).
std::optional<acm::SharingId> FindResourceSharing(const acm::Acm& acm, DomainId domain,
                                                  acm::ResourceKind kind,
                                                  std::string_view resource);

// Whether the ACM still records `domain` (false once its end began: DomainDestroy forgot it).
bool IsRecorded(const acm::Acm& acm, DomainId domain);

class SharingRegistry {
 public:
  // Undoes one sharing at its enforcement point; `why` is for its log/audit line. Must not fail:
  // a sharing whose undo cannot complete (a QEMU that is gone) is still ended.
  using Teardown = std::function<void(const acm::Sharing& sharing, std::string_view why)>;

  explicit SharingRegistry(acm::Acm& acm) : acm_(acm) {}
  SharingRegistry(const SharingRegistry&) = delete;
  SharingRegistry& operator=(const SharingRegistry&) = delete;

  // Records how to undo `id`, a sharing the ACM holds now. Errors: kNotFound (the ACM does not
  // hold it: nothing is recorded), kConflict (already registered).
  [[nodiscard]] Result<void> Add(acm::SharingId id, Teardown teardown);

  // Ends a domain: the ACM forgets it (its Chinese Wall counts, its sharings), then each of its
  // sharings is torn down, newest first. Returns the sharings ended. Errors: kNotFound (the ACM
  // does not know the domain; registered teardowns of it still run), kPermissionDenied
  // (Domain-0).
  [[nodiscard]] Result<std::vector<acm::Sharing>> EndDomain(DomainId domain, std::string_view why);

  // Tears down what a policy update revoked (UpdateReport::revoked; the ACM already dropped them).
  void Revoked(const std::vector<acm::Sharing>& revoked, std::string_view why);

  // Ends one sharing: the ACM releases it, then it is torn down. Errors: kNotFound.
  [[nodiscard]] Result<void> Release(acm::SharingId id, std::string_view why);

  std::size_t size() const { return teardowns_.size(); }

 private:
  struct Entry {
    acm::Sharing sharing;
    Teardown teardown;
  };
  void TearDown(acm::SharingId id, const acm::Sharing& as_dropped, std::string_view why);

  acm::Acm& acm_;
  std::map<acm::SharingId, Entry> teardowns_;
};

}  // namespace shype::enforce
