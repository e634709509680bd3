// SPDX-License-Identifier: Apache-2.0
//
// The verifier's parsers on hostile bytes (a remote party's `shype verify` reads what the
// attested host sends): the first byte picks the event log, the shype record, TPMS_ATTEST or
// TPMT_SIGNATURE parser; none may crash, and a parsed log must replay.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "shype/vtpm/attestation.h"
#include "shype/vtpm/event_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
  switch (data[0] % 4) {
    case 0:
      if (auto log = shype::vtpm::ParseEventLog(text)) {
        (void)shype::vtpm::PcrDigest(shype::vtpm::Replay(*log));
        (void)shype::vtpm::EventLogJson(*log);
      }
      break;
    case 1:
      (void)shype::vtpm::ParseLaunchRecord(text);
      break;
    case 2:
      (void)shype::vtpm::ParseQuoteMessage(rest);
      break;
    default:
      (void)shype::vtpm::ParseQuoteSignature(rest);
      break;
  }
  return 0;
}
