// SPDX-License-Identifier: Apache-2.0
//
// Fuzzes what QEMU (an untrusted peer once a guest may influence it) sends shyped over QMP:
// the line splitter and the message parser must never crash, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shype/vm/qmp_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  shype::vm::QmpLineSplitter splitter;
  // Feed in two pieces so partial lines are exercised.
  std::size_t half = size / 2;
  if (!splitter.Append(bytes.substr(0, half))) return 0;
  if (!splitter.Append(bytes.substr(half))) return 0;
  while (auto line = splitter.NextLine()) (void)shype::vm::ParseQmpMessage(*line);
  (void)shype::vm::ParseQmpMessage(bytes);
  return 0;
}
