// SPDX-License-Identifier: Apache-2.0
//
// Test support: reads ivshmem-doorbell protocol messages from the QEMU end of a region's socket
// as QEMU does (8-byte little-endian int64, at most one fd each).
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <optional>

#include "shype/common/unique_fd.h"

namespace shype::shm::testing {

struct Message {
  std::int64_t value = 0;
  UniqueFd fd;  // invalid: no fd came with it
};

// The next message, or nullopt when none arrives within `ms` (or the stream ended).
inline std::optional<Message> ReadMessage(int socket, int ms = 1000) {
  pollfd p{socket, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return std::nullopt;
  unsigned char bytes[8];
  iovec iov{bytes, sizeof bytes};
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(socket, &msg, MSG_WAITALL | MSG_CMSG_CLOEXEC) != sizeof bytes) return std::nullopt;
  Message m;
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | bytes[i];
  m.value = static_cast<std::int64_t>(v);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      m.fd.Reset(fd);
    }
  }
  return m;
}

}  // namespace shype::shm::testing
