// SPDX-License-Identifier: Apache-2.0
//
// The DEFAULT policy's compiled-policy package (compiled_package.h), as compiled at build time by
// shype-policyc-gen into the generated default_policy_data.cc. Private to shype::policyc_builtin.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shype::policyc::generated {

extern const std::uint8_t kDefaultPolicyPackage[];
extern const std::size_t kDefaultPolicyPackageSize;

}  // namespace shype::policyc::generated
