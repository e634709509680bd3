// SPDX-License-Identifier: Apache-2.0
//
// The DEFAULT policy (spec §2.4) that a host runs before any policy is set and after a reset,
// and the version rule (spec §5.4 step 3) that decides whether one policy may replace another.
#pragma once

#include <optional>
#include <string>

#include "shype/common/result.h"
#include "shype/policyc/policy_header.h"

namespace shype::policyc {

inline constexpr std::string_view kDefaultPolicyName = "DEFAULT";

// Returns the DEFAULT policy XML. With `dom0_from_label`, the SystemManagement label carries
// from="<label>" so a reset renames Domain-0's current label to SystemManagement.
std::string DefaultPolicyXml(const std::optional<std::string>& dom0_from_label = std::nullopt);

}  // namespace shype::policyc
