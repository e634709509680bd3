// SPDX-License-Identifier: Apache-2.0
//
// I/O on the control and data sockets, each message bounded in time (a peer that stops or
// trickles mid-message, or stops reading, cannot hold the relay thread): exact reads, one-message
// sends (swtpm reads each control request with one recvmsg), fds by SCM_RIGHTS.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "shype/common/result.h"
#include "shype/common/unique_fd.h"
#include "shype/vtpm/ctrl_protocol.h"

namespace shype::vtpm {

inline constexpr int kPeerTimeoutMs = 60'000;  // a TPM command (RSA key generation) is slow
// SECURITY: swtpm's read size (TPM_BUFFER_MAX): it reads each command with one read() of at
// most 4096 + 9 bytes and takes what follows as the next one (which may start with the TCG prefix
// that sets any locality), so a longer message smuggled a command past the relay.
inline constexpr std::size_t kMaxTpmMessage = 4096;

// Reads exactly out.size() bytes within `timeout_ms`. Errors: kUnavailable (closed, timed out).
[[nodiscard]] Result<void> ReadExact(int fd, std::span<std::uint8_t> out, int timeout_ms);
// Sends all of `bytes` within `timeout_ms`. Errors: kUnavailable (closed, not read in time).
[[nodiscard]] Result<void> WriteAll(int fd, std::span<const std::uint8_t> bytes,
                                    int timeout_ms = kPeerTimeoutMs);
// Reads one 4-byte control code and the fd sent with it, if any.
struct CtrlHead {
  std::uint32_t code = 0;
  UniqueFd fd;
};
[[nodiscard]] Result<CtrlHead> ReadCtrlHead(int fd, int timeout_ms);
// One control exchange with swtpm: code + payload in one message (with `send_fd` attached when
// ≥ 0), then `reply_bytes`. Errors: kUnavailable.
[[nodiscard]] Result<std::vector<std::uint8_t>> CtrlCall(int fd, CtrlCommand code,
                                                         std::span<const std::uint8_t> payload,
                                                         std::size_t reply_bytes, int send_fd = -1);
// One TPM command or reply: its 10-byte header, then the size it gives (10 ... kMaxTpmMessage).
[[nodiscard]] Result<std::vector<std::uint8_t>> ReadTpmMessage(int fd, int timeout_ms);

std::uint32_t LoadBe32(const std::uint8_t* p);
void StoreBe32(std::uint8_t* p, std::uint32_t v);

}  // namespace shype::vtpm
