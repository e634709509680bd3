// SPDX-License-Identifier: Apache-2.0
//
// ChineseWallState: admission test and counter commit/undo, using the per-row type and blocking
// lists the PolicySnapshot derived, so each operation is linear in the row's size only.
#include "chinese_wall.h"

namespace shype::acm {

void ChineseWallState::Reset(std::uint32_t types) {
  running_types_.assign(types, 0);
  conflict_aggregate_.assign(types, 0);
}

std::vector<std::uint32_t> ChineseWallState::BlockedTypes(const PolicySnapshot& policy,
                                                          std::uint32_t row) const {
  std::vector<std::uint32_t> blocked;
  for (std::uint32_t t : policy.ChwallTypes(row)) {
    if (conflict_aggregate_[t] > 0) blocked.push_back(t);
  }
  return blocked;
}

bool ChineseWallState::IsBlocked(const PolicySnapshot& policy, std::uint32_t row) const {
  for (std::uint32_t t : policy.ChwallTypes(row)) {
    if (conflict_aggregate_[t] > 0) return true;
  }
  return false;
}

void ChineseWallState::Add(const PolicySnapshot& policy, std::uint32_t row) {
  for (std::uint32_t t : policy.BlockedBy(row)) ++conflict_aggregate_[t];
  for (std::uint32_t t : policy.ChwallTypes(row)) ++running_types_[t];
}

void ChineseWallState::Remove(const PolicySnapshot& policy, std::uint32_t row) {
  for (std::uint32_t t : policy.BlockedBy(row)) --conflict_aggregate_[t];
  for (std::uint32_t t : policy.ChwallTypes(row)) --running_types_[t];
}

}  // namespace shype::acm
