// SPDX-License-Identifier: Apache-2.0
//
// The Acm's internal tables, private to src/acm: the lock-free domain index and decision cache
// (read by the STE hot path) and the Chinese Wall counters (guarded by Acm::mu_).
#pragma once

#include <new>

#include "chinese_wall.h"
#include "decision_cache.h"
#include "domain_index.h"
#include "policy_snapshot.h"
#include "shype/acm/acm.h"

namespace shype::acm {

struct Acm::Tables {
  DomainIndex index;
  DecisionCache cache;
  ChineseWallState chwall;  // Guarded by Acm::mu_.
};

// Constructed in Acm's tables_ storage by its constructor, destroyed by its destructor.
inline Acm::Tables& Acm::tables() {
  return *std::launder(reinterpret_cast<Tables*>(tables_.data()));
}
inline const Acm::Tables& Acm::tables() const {
  return *std::launder(reinterpret_cast<const Tables*>(tables_.data()));
}

}  // namespace shype::acm
