// SPDX-License-Identifier: Apache-2.0
//
// Fuzzes ParseMapFile and the lookups on whatever it accepts: every label must map to an ssidref
// that maps back to the same VM label.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "shype/policy/label_map.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto map = shype::policy::ParseMapFile(text);
  if (!map) return 0;
  for (std::size_t row = 1; row < map->vm_labels.size(); ++row) {
    const std::string& label = map->vm_labels[row];
    auto ref = map->VmSsidref(label);
    if (!ref) std::abort();
    if (label != shype::policy::kUnlabeledLabel && map->VmLabelOf(*ref) != label) std::abort();
  }
  for (const std::string& label : map->resource_labels) (void)map->ResourceSsidref(label);
  return 0;
}
