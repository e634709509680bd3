// SPDX-License-Identifier: Apache-2.0
//
// A live sharing the reference monitor permitted and remembers, so that a policy update can
// re-check it: two domains sharing (doorbell, memory, network), or a domain using a resource.
// Values only; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "shype/acm/types.h"
#include "shype/common/id.h"

namespace shype::acm {

using SharingId = Id<struct SharingIdTag, std::uint64_t>;

// A resource as an enforcement point names it (e.g. "file:/var/lib/shype/disk.img").
struct ResourceRef {
  std::string name;
  Ssidref ssidref = kUnlabeledSsidref;  // its resource label's ssidref in the active policy
  ResourceKind kind = ResourceKind::kDisk;
};

struct Sharing {
  SharingId id{0};
  DomainId subject{0};
  // Exactly one of (peer, share_kind) or (resource_kind, resource, resource_label) is set.
  std::optional<DomainId> peer;
  std::optional<ShareKind> share_kind;
  std::optional<ResourceKind> resource_kind;
  std::string resource;        // the enforcement point's name of the resource
  std::string resource_label;  // its label in the active policy (follows renames)
  friend bool operator==(const Sharing&, const Sharing&) = default;
};

}  // namespace shype::acm
