// SPDX-License-Identifier: Apache-2.0
//
// What `create` refuses in a domain configuration before it asks the reference monitor, whatever
// runs on the host: shyped's create refuses the first, dry-run reports them all.
#pragma once

#include <string>
#include <vector>

#include "shype/common/result.h"
#include "shype/config/domain_config.h"

namespace shype::admin {

// Each refusal names the file (`path`) and what to change. Empty: nothing in the configuration
// itself stops a create (the labels, the running domains and the host are checked elsewhere).
[[nodiscard]] std::vector<Error> ConfigRefusals(const config::DomainConfig& config,
                                                const std::string& path);

}  // namespace shype::admin
