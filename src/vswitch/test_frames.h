// SPDX-License-Identifier: Apache-2.0
//
// Test helpers: Ethernet frames in QEMU's stream framing (4-byte big-endian length + frame),
// and QEMU's end of a port (a blocking stream socket).
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <vector>

#include "shype/vswitch/mac.h"

namespace shype::vswitch::testing {

inline MacAddress Mac(std::uint8_t last) {
  return MacAddress{{0x52, 0x54, 0x00, 0x00, 0x00, last}};
}
inline const MacAddress kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

// A frame from `src` to `dst` of `length` bytes (header included), payload bytes = `fill`,
// with its length prefix.
inline std::vector<std::uint8_t> Wire(MacAddress dst, MacAddress src, std::size_t length,
                                      std::uint8_t fill = 0xab) {
  std::vector<std::uint8_t> out(4 + length, fill);
  const auto n = static_cast<std::uint32_t>(length);
  out[0] = static_cast<std::uint8_t>(n >> 24);
  out[1] = static_cast<std::uint8_t>(n >> 16);
  out[2] = static_cast<std::uint8_t>(n >> 8);
  out[3] = static_cast<std::uint8_t>(n);
  for (std::size_t i = 0; i < 6 && 4 + i < out.size(); ++i) out[4 + i] = dst.bytes[i];
  for (std::size_t i = 0; i < 6 && 10 + i < out.size(); ++i) out[10 + i] = src.bytes[i];
  if (length >= 14) {
    out[16] = 0x08;  // IPv4
    out[17] = 0x00;
  }
  return out;
}

// A bare length prefix.
inline std::vector<std::uint8_t> Prefix(std::uint32_t n) {
  return {static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
          static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
}

inline void Append(std::vector<std::uint8_t>& to, const std::vector<std::uint8_t>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

// Writes all of `bytes` to a blocking socket; false if it could not.
inline bool Send(int fd, const std::vector<std::uint8_t>& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads exactly n bytes within 5 s (empty on timeout or EOF).
inline std::vector<std::uint8_t> Receive(int fd, std::size_t n) {
  std::vector<std::uint8_t> out(n);
  std::size_t done = 0;
  while (done < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return {};
    const ssize_t r = ::recv(fd, out.data() + done, n - done, 0);
    if (r <= 0) return {};
    done += static_cast<std::size_t>(r);
  }
  return out;
}

// True if `expected` arrives next on fd.
inline bool Arrives(int fd, const std::vector<std::uint8_t>& expected) {
  return Receive(fd, expected.size()) == expected;
}

// True if nothing is waiting to be read on fd now.
inline bool Quiet(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace shype::vswitch::testing
