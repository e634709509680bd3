// SPDX-License-Identifier: Apache-2.0
//
// DomainPlan is a domain configuration checked against the active policy and the resource
// labels: the domain's label and ssidref, and every resource it would use with that resource's
// label, ssidref and the STE decision. Dry-run prints it; shyped creates a domain from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shype/acm/types.h"
#include "shype/admin/active_policy.h"
#include "shype/config/domain_config.h"

namespace shype::admin {

struct ResourceUse {
  std::string resource;  // unified name, e.g. "file:/img/a.img", "vnet:bank"
  acm::ResourceKind kind = acm::ResourceKind::kDisk;
  std::optional<config::DiskSpec> disk;  // for disks
  std::string path;                      // for disks: the canonical path that was checked
  std::string res_policy_type = "ACM";
  std::string res_policy;
  std::string res_label = "__UNLABELED__";
  std::optional<Ssidref> res_ssidref;  // nullopt: not usable under the active policy
  bool permitted = false;
  std::string reason;  // why denied
};

struct DomainPlan {
  std::string name;
  std::string policy;
  std::string label;
  Ssidref ssidref = kInvalidSsidref;
  bool permitted = false;  // the label itself (exists, right policy, authorized)
  std::string reason;
  std::vector<ResourceUse> resources;
  bool resources_permitted() const;
};

// Checks `config` against `active` and the resource labels in `store`. Never fails on a policy
// denial (that is in the plan); errors only for an invalid config (kInvalidArgument) or I/O.
[[nodiscard]] Result<DomainPlan> PlanDomain(const config::DomainConfig& config,
                                            const ActivePolicy& active, store::StateStore& store);

}  // namespace shype::admin
