// SPDX-License-Identifier: Apache-2.0
//
// ChineseWallState is Xen's Chinese Wall bookkeeping (spec-acm §4.5): running_types[t] counts the
// running domains carrying type t, conflict_aggregate[t] the running domains blocking t. A row is
// admitted iff none of its types is blocked. Thread-compatible: the Acm guards it with its mutex.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "policy_snapshot.h"

namespace shype::acm {

class ChineseWallState {
 public:
  // Zeroes both arrays for a policy with `types` CHWALL types.
  void Reset(std::uint32_t types);
  // The types of `row` whose aggregate is non-zero (admission fails iff non-empty).
  std::vector<std::uint32_t> BlockedTypes(const PolicySnapshot& policy, std::uint32_t row) const;
  bool IsBlocked(const PolicySnapshot& policy, std::uint32_t row) const;
  // Commits a running domain of `row` (step 3 of admission) / undoes it at destroy.
  void Add(const PolicySnapshot& policy, std::uint32_t row);
  void Remove(const PolicySnapshot& policy, std::uint32_t row);

  std::span<const std::uint32_t> running_types() const { return running_types_; }
  std::span<const std::uint32_t> conflict_aggregate() const { return conflict_aggregate_; }

 private:
  std::vector<std::uint32_t> running_types_;
  std::vector<std::uint32_t> conflict_aggregate_;
};

}  // namespace shype::acm
