// SPDX-License-Identifier: Apache-2.0
//
// Fuzzes ParseCompiledPackage, the reader shyped applies to the sandboxed compiler's output (as
// hostile as the XML it parsed). The XML hash is checked last, so every other check is reached.
#include <cstdint>
#include <span>

#include "shype/policyc/compiled_package.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)shype::policyc::ParseCompiledPackage(std::span(data, size), {});
  return 0;
}
