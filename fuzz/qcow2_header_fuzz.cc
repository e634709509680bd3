// SPDX-License-Identifier: Apache-2.0
//
// Fuzzes ParseQcow2Header, which reads guest-controlled bytes (the header of an image a guest can
// write): it must never read out of bounds, and a backing name it returns must lie inside the
// input and be no longer than the qcow2 limit.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "shype/enforce/disk_chain.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto facts = shype::enforce::ParseQcow2Header(std::span<const std::uint8_t>(data, size));
  if (!facts) return 0;
  if (facts->backing_file.size() > 1023 || facts->backing_file.size() > size) std::abort();
  if (facts->backing_format.size() > size) std::abort();
  return 0;
}
