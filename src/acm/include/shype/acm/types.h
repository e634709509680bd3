// SPDX-License-Identifier: Apache-2.0
//
// The closed vocabularies of the reference monitor: decisions, the kinds of sharing between
// domains, the kinds of resources a domain uses, and the hooks that audit and statistics name.
// Values only; thread-compatible.
#pragma once

#include <cstdint>
#include <string_view>

namespace shype::acm {

// The outcome of a hook. Never a bool: an ignored decision is a compiler warning.
enum class [[nodiscard]] Decision : std::uint8_t{kPermit, kDeny};

// Domain-to-domain sharing, Xen's event channels / grant maps / vNIF peers.
enum class ShareKind : std::uint16_t {
  kDoorbell,      // event channel: an eventfd pair brokered by shyped
  kSharedMemory,  // grant-table mapping: an ivshmem region
  kNetwork,       // two vNIFs exchanging frames on a shyped virtual switch
  kDisk,          // one disk (file or block device) attached to both, at least one writing it
};

// What a domain uses that is not a domain.
enum class ResourceKind : std::uint16_t { kDisk, kNetwork, kSharedMemory, kVtpm };

// Every hook, for statistics and audit records.
enum class Hook : std::uint16_t {
  kDoorbell,
  kSharedMemory,
  kNetwork,
  kResource,
  kDomainCreate,
  kAuthorization,
  kConflictSet,
  kPolicyUpdate,
  kSharedDisk,  // appended: the statistics' indexes of the others stay as they were
  kRelabel,     // a running domain's (or Domain-0's) label changed live
};
inline constexpr std::size_t kHookCount = 10;

std::string_view DecisionName(Decision decision);  // "permit" / "deny"
std::string_view ShareKindName(ShareKind kind);    // "doorbell", "shared-memory", "network", "disk"
std::string_view ResourceKindName(ResourceKind kind);  // "disk", "network", "shared-memory", "vtpm"
std::string_view HookName(Hook hook);                  // "doorbell", ..., "policy-update"

// The statistics/audit hook of a domain-to-domain sharing.
constexpr Hook HookOf(ShareKind kind) {
  switch (kind) {
    case ShareKind::kDoorbell:
      return Hook::kDoorbell;
    case ShareKind::kSharedMemory:
      return Hook::kSharedMemory;
    case ShareKind::kNetwork:
      return Hook::kNetwork;
    case ShareKind::kDisk:
      return Hook::kSharedDisk;
  }
  return Hook::kResource;
}

}  // namespace shype::acm
