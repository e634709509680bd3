// SPDX-License-Identifier: Apache-2.0
//
// Fuzzes ParseBinaryPolicy: it must never read out of bounds, and whatever it accepts must
// serialize back to the identical bytes (the reader is exactly as strict as the writer); the dump
// of an accepted policy must not crash either.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "shype/policy/binary_policy.h"
#include "shype/policy/dump.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto policy = shype::policy::ParseBinaryPolicy(bytes);
  if (!policy) return 0;
  const std::vector<std::uint8_t> again = shype::policy::SerializeBinaryPolicy(*policy);
  if (!std::equal(again.begin(), again.end(), bytes.begin(), bytes.end())) std::abort();
  auto reparsed = shype::policy::ParseBinaryPolicy(again);
  if (!reparsed || !(*reparsed == *policy)) std::abort();
  // The dump is linear in the rows; a 0-column matrix may declare 65535 of them for free, and
  // the same per-row code is covered by small ones: dump those only, so the run stays fast.
  std::uint64_t rows = 0;
  if (policy->ste) rows += policy->ste->ssids.rows;
  if (policy->chwall) rows += policy->chwall->ssids.rows + policy->chwall->conflict_sets.rows;
  if (rows <= 1024) (void)shype::policy::DumpBinaryPolicy(*policy, shype::Ssidref{0x00010001});
  return 0;
}
