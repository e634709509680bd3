// SPDX-License-Identifier: Apache-2.0
//
// The control commands a domain's QEMU may send to its swtpm through shyped, with their sizes.
#include "shype/vtpm/ctrl_protocol.h"

#include <fmt/format.h>

#include <array>
#include <string>

namespace shype::vtpm {
namespace {

// swtpm's PTM_CAP_* bits of the commands QEMU may use (tpm_ioctl.h).
constexpr std::uint64_t kCapInit = 1U << 0;
constexpr std::uint64_t kCapShutdown = 1U << 1;
constexpr std::uint64_t kCapGetTpmEstablished = 1U << 2;
constexpr std::uint64_t kCapSetLocality = 1U << 3;
constexpr std::uint64_t kCapCancelTpmCmd = 1U << 5;
constexpr std::uint64_t kCapResetTpmEstablished = 1U << 7;
constexpr std::uint64_t kCapStop = 1U << 10;
constexpr std::uint64_t kCapSetDataFd = 1U << 12;
constexpr std::uint64_t kCapSetBufferSize = 1U << 13;

// Payload and reply sizes are QEMU's (the union sizes of swtpm's ptm_* structs it sends).
constexpr std::array kQemuExchanges{
    CtrlExchange{CtrlCommand::kGetCapability, 0, 8},
    CtrlExchange{CtrlCommand::kInit, 4, 4},
    CtrlExchange{CtrlCommand::kShutdown, 0, 4},
    CtrlExchange{CtrlCommand::kGetTpmEstablished, 0, 8},
    CtrlExchange{CtrlCommand::kSetLocality, 4, 4},
    CtrlExchange{CtrlCommand::kCancelTpmCmd, 0, 4},
    CtrlExchange{CtrlCommand::kResetTpmEstablished, 4, 4},
    CtrlExchange{CtrlCommand::kStop, 0, 4},
    CtrlExchange{CtrlCommand::kSetDataFd, 0, 4},
    CtrlExchange{CtrlCommand::kSetBufferSize, 4, 16},
};

constexpr std::array<std::string_view, 20> kNames{"",
                                                  "GET_CAPABILITY",
                                                  "INIT",
                                                  "SHUTDOWN",
                                                  "GET_TPMESTABLISHED",
                                                  "SET_LOCALITY",
                                                  "HASH_START",
                                                  "HASH_DATA",
                                                  "HASH_END",
                                                  "CANCEL_TPM_CMD",
                                                  "STORE_VOLATILE",
                                                  "RESET_TPMESTABLISHED",
                                                  "GET_STATEBLOB",
                                                  "SET_STATEBLOB",
                                                  "STOP",
                                                  "GET_CONFIG",
                                                  "SET_DATAFD",
                                                  "SET_BUFFERSIZE",
                                                  "GET_INFO",
                                                  "LOCK_STORAGE"};

}  // namespace

std::optional<CtrlExchange> QemuMayRequest(std::uint32_t code) {
  for (const CtrlExchange& e : kQemuExchanges) {
    if (static_cast<std::uint32_t>(e.command) == code) return e;
  }
  return std::nullopt;
}

std::uint64_t OfferedCapabilities(std::uint64_t swtpm_capabilities) {
  constexpr std::uint64_t kOffered = kCapInit | kCapShutdown | kCapGetTpmEstablished |
                                     kCapSetLocality | kCapCancelTpmCmd | kCapResetTpmEstablished |
                                     kCapStop | kCapSetDataFd | kCapSetBufferSize;
  return swtpm_capabilities & kOffered;
}

std::string CtrlCommandName(std::uint32_t code) {
  if (code > 0 && code < kNames.size()) return std::string(kNames[code]);
  return fmt::format("code {}", code);
}

}  // namespace shype::vtpm
