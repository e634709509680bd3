// SPDX-License-Identifier: Apache-2.0
//
// Acm::UpdatePlan: what an update transaction computed before deciding to commit (private to the
// two files of the transaction).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "acm_tables.h"
#include "shype/acm/acm.h"

namespace shype::acm {

struct Acm::UpdatePlan {
  std::map<DomainId, DomainRecord> translated;  // new ssidref and label per running domain
  std::vector<Violation> violations;
  std::map<SharingId, std::string> resource_labels;  // resource sharings: label in the new policy
};

}  // namespace shype::acm
