// SPDX-License-Identifier: Apache-2.0
//
// BinaryLayout computes where each block of a serialized BinaryPolicy lands (spec §3.1-§3.5):
// the one place that knows the offsets, shared by the writer and the dump so both agree.
#pragma once

#include <cstdint>

#include "shype/policy/binary_policy.h"

namespace shype::policy {

constexpr std::uint64_t RoundUp8(std::uint64_t n) { return (n + 7) & ~std::uint64_t{7}; }

struct BinaryLayout {
  std::uint64_t reference_offset = kHeaderSize;
  std::uint64_t reference_len = 0;  // padded
  std::uint64_t chwall_offset = 0;  // valid iff policy.chwall
  std::uint64_t chwall_len = 0;     // padded; 0 if absent
  std::uint64_t ste_offset = 0;     // valid iff policy.ste
  std::uint64_t ste_len = 0;        // padded; 0 if absent
  std::uint64_t primary_offset = 0;
  std::uint64_t secondary_offset = 0;
  std::uint64_t total = 0;
  // CHWALL block-relative offsets (running/aggregate are 0 unless that live array is present).
  std::uint64_t chwall_conflict_offset = 0;
  std::uint64_t chwall_running_offset = 0;
  std::uint64_t chwall_aggregate_offset = 0;
};

// Which of Xen's live CHWALL arrays a layout carries (getpolicy dumps add both; files neither).
struct LiveArrays {
  bool running_types = false;
  bool conflict_aggregate = false;
};

// Unpadded CHWALL block content length: header, S×T and C×T matrices, + 2·T per live array.
std::uint64_t ChwallContentLen(const ChineseWallPolicy& chwall, LiveArrays live);
// Unpadded STE block content length: header and S×T matrix.
std::uint64_t SteContentLen(const SimpleTypeEnforcementPolicy& ste);

// Lays out `policy`: header, reference, CHWALL (if present), STE (if present). A NULL component's
// offset is the end of the buffer. With `live` arrays, the CHWALL block also carries the
// running-types and/or conflict-aggregate arrays after the conflict sets, as Xen's getpolicy does.
BinaryLayout ComputeLayout(const BinaryPolicy& policy, LiveArrays live = {});

}  // namespace shype::policy
