// SPDX-License-Identifier: Apache-2.0
//
// swtpm's control channel as shyped speaks and filters it: the command codes, the payload and
// reply sizes, and which of them a domain's QEMU may send (QEMU is assumed compromised: a state
// blob read would leak the TPM's seeds, a state blob write or a hash sequence would forge PCRs).
// Values and pure functions only; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace shype::vtpm {

// swtpm's control commands (its tpm_ioctl.h), big-endian u32 on the wire.
enum class CtrlCommand : std::uint32_t {
  kGetCapability = 1,
  kInit = 2,
  kShutdown = 3,
  kGetTpmEstablished = 4,
  kSetLocality = 5,
  kHashStart = 6,
  kHashData = 7,
  kHashEnd = 8,
  kCancelTpmCmd = 9,
  kStoreVolatile = 10,
  kResetTpmEstablished = 11,
  kGetStateBlob = 12,
  kSetStateBlob = 13,
  kStop = 14,
  kGetConfig = 15,
  kSetDataFd = 16,
  kSetBufferSize = 17,
  kGetInfo = 18,
  kLockStorage = 19,
};

inline constexpr std::uint32_t kInitFlagDeleteVolatile = 1;

// The sizes of one control exchange: the payload after the 4-byte code, and the reply.
struct CtrlExchange {
  CtrlCommand command = CtrlCommand::kGetCapability;
  std::size_t request_bytes = 0;
  std::size_t reply_bytes = 0;
};

// The exchanges QEMU 7.2's tpm-emulator makes outside migration, which shyped passes on (INIT
// and SET_DATAFD it handles itself); nullopt for every other code: shyped closes the channel.
std::optional<CtrlExchange> QemuMayRequest(std::uint32_t code);

// The capabilities shyped offers QEMU: swtpm's, without those of refused commands (QEMU then
// blocks migration itself and never sends them).
std::uint64_t OfferedCapabilities(std::uint64_t swtpm_capabilities);

// A human name for a code ("GET_STATEBLOB", "code 77").
std::string CtrlCommandName(std::uint32_t code);

}  // namespace shype::vtpm
