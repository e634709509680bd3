// SPDX-License-Identifier: Apache-2.0
//
// The DEFAULT policy's binary and map file, as compiled at build time by shype-policyc-gen into
// the generated default_policy_data.cc. Private to shype::policyc_builtin.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shype::policyc::generated {

extern const std::uint8_t kDefaultPolicyBinary[];
extern const std::size_t kDefaultPolicyBinarySize;
extern const std::uint8_t kDefaultPolicyMap[];
extern const std::size_t kDefaultPolicyMapSize;

}  // namespace shype::policyc::generated
