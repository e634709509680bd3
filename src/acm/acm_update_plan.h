// SPDX-License-Identifier: Apache-2.0
//
// Acm::UpdatePlan: what an update transaction computed before deciding to commit (private to the
// two files of the transaction).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "acm_tables.h"
#include "shype/acm/acm.h"

namespace shype::acm {

struct Acm::UpdatePlan {
  std::map<DomainId, DomainRecord> translated;  // new ssidref and label per running domain
  std::vector<Violation> violations;
  std::map<SharingId, std::string> resource_labels;  // resource sharings: label in the new policy
  std::vector<StoredResourceLabel> invalidated;      // stored labels the new policy lacks
  // How the messages name what changes: an update's new policy, or a relabel's new label.
  std::string_view under = "under the new policy";

  // SECURITY: Domain-0's authorization of every running guest as translated (spec §1.5): a
  // guest it would no longer authorize would run unauthorized until a restarted shyped's
  // recovery (which authorizes) stopped it. One kUnauthorized violation per such guest.
  void PlanAuthorization(const PolicySnapshot& next);
};

}  // namespace shype::acm
