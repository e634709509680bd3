// SPDX-License-Identifier: Apache-2.0
//
// Fuzzes DecodeSaveHeader, which reads the first bytes of a save image handed to `shype restore`
// (a file anyone with the image could have edited): it must never read out of bounds or throw,
// must consume no more than it was given, and a header it accepts must encode and decode back to
// the same fields.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "save_image.h"

namespace {

bool Same(const shype::daemon::SaveHeader& a, const shype::daemon::SaveHeader& b) {
  return a.name == b.name && a.id == b.id && a.policy == b.policy && a.label == b.label &&
         a.config == b.config && a.config_path == b.config_path && a.state == b.state &&
         a.saved_at == b.saved_at;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::size_t consumed = 0;
  auto header = shype::daemon::DecodeSaveHeader(bytes, consumed);
  if (!header) return 0;
  if (consumed > size) std::abort();
  auto encoded = shype::daemon::EncodeSaveHeader(*header);
  if (!encoded) std::abort();  // what was read must be writable again
  std::size_t again_consumed = 0;
  auto again = shype::daemon::DecodeSaveHeader(*encoded, again_consumed);
  if (!again || again_consumed != encoded->size() || !Same(*header, *again)) std::abort();
  return 0;
}
