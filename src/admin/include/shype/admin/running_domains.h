// SPDX-License-Identifier: Apache-2.0
//
// RunningDomains is what the administration services need from the domains shyped runs (its
// domain manager implements it): who runs with which label and resources, a domain's name for a
// message, and "follow the committed policy" after an update. Offline there is none.
// Called from shyped's io thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shype/common/id.h"
#include "shype/common/result.h"
#include "shype/config/domain_config.h"
#include "shype/enforce/boot_images.h"

namespace shype::admin {

struct RunningDomain {
  std::string name;
  std::uint32_t id = 0;
  std::string label;
  std::vector<std::string> resources;  // unified names in use
};

class RunningDomains {
 public:
  virtual ~RunningDomains() = default;
  // Every running domain, Domain-0 first.
  virtual std::vector<RunningDomain> Domains() const = 0;
  // "'bank1' (id 1)" for a running domain, "Domain-0" for 0: names a verdict's parties.
  virtual std::string NameOf(DomainId id) const = 0;
  // After a committed policy update: each running domain's record takes its label and ssidref
  // from the ACM (renamed labels), under policy `policy`, and is saved.
  virtual void FollowPolicy(const std::string& policy) = 0;
  // The image directories boot images come from (dry-run opens kernel and ramdisk there too).
  virtual const enforce::BootImages* BootImages() const { return nullptr; }
  // What shyped would refuse of `config` beyond the configuration and the labels (a domain of
  // its name runs, an accelerator the host cannot use): one message each (dry-run reports them).
  virtual std::vector<Error> HostRefusals(const config::DomainConfig& config) const = 0;
};

}  // namespace shype::admin
