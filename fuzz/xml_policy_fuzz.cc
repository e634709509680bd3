// SPDX-License-Identifier: Apache-2.0
//
// libFuzzer target for the policy compiler: arbitrary bytes → ParsePolicyXml → CompilePolicy.
// Errors are fine; crashes, leaks and sanitizer reports are not. A compiled policy must read back
// through the bounded binary reader into exactly the same BinaryPolicy.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "shype/policy/binary_policy.h"
#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_document.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = shype::policyc::ParsePolicyXml(std::span<const std::uint8_t>(data, size), "fuzz.xml");
  if (!doc) return 0;
  auto compiled = shype::policyc::CompilePolicy(*doc);
  if (!compiled) return 0;
  auto parsed = shype::policy::ParseBinaryPolicy(compiled->bytes);
  if (!parsed || !(*parsed == compiled->binary)) std::abort();
  return 0;
}
