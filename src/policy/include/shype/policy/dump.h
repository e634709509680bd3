// SPDX-License-Identifier: Apache-2.0
//
// DumpBinaryPolicy renders a binary policy as Xen's `xensec_tool dumppolicy` text (spec §6.6,
// §3.10), which `xm dumppolicy` prints; the live variant adds the Chinese Wall running types and
// conflict aggregate set as `xensec_tool getpolicy` shows them. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "shype/common/id.h"
#include "shype/policy/binary_policy.h"

namespace shype::policy {

// The hypervisor-side CHWALL state Xen appends to a getpolicy dump: one counter per CHWALL type.
// An absent array prints as "Not Reported!" (its offset is 0); a short one is padded with 0.
struct ChwallLiveState {
  std::optional<std::span<const std::uint16_t>> running_types;
  std::optional<std::span<const std::uint16_t>> conflict_aggregate;
};

// Returns the dump text of `policy` exactly as xensec_tool prints it for the file
// SerializeBinaryPolicy(policy), marking the rows of `domain0` (each component's local row,
// BinaryPolicy::LocalRef) with " <-- Domain-0" in both the CHWALL and the STE matrix.
std::string DumpBinaryPolicy(const BinaryPolicy& policy, Ssidref domain0);

// As above for the live policy: offsets, lengths and the CHWALL block are those of Xen's getpolicy
// buffer, which carries the running-types / conflict-aggregate arrays present in `live`.
std::string DumpBinaryPolicy(const BinaryPolicy& policy, Ssidref domain0,
                             const ChwallLiveState& live);

}  // namespace shype::policy
