// SPDX-License-Identifier: Apache-2.0
//
// poll + read/recvmsg loops for the vTPM's sockets.
#include "ctrl_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace shype::vtpm {

std::uint32_t LoadBe32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

void StoreBe32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

namespace {

using Clock = std::chrono::steady_clock;

// The milliseconds left until `deadline` (0 once it passed).
int Left(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

Result<void> Wait(int fd, short events, Clock::time_point deadline, int timeout_ms) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int r = ::poll(&p, 1, Left(deadline));
    if (r > 0) return {};
    if (r == 0) return Fail(ErrorCode::kUnavailable, "no answer within {} ms", timeout_ms);
    if (errno != EINTR) return Fail(ErrorCode::kUnavailable, "poll: {}", std::strerror(errno));
  }
}

Result<void> WaitIn(int fd, int timeout_ms) {
  return Wait(fd, POLLIN, Clock::now() + std::chrono::milliseconds(timeout_ms), timeout_ms);
}

}  // namespace

// SECURITY: the deadline is the whole message's, not each read's (a peer trickling one byte
// at a time held the relay thread for hours), and neither read nor send can block past it: the
// reads and sends do not wait (MSG_DONTWAIT: a QEMU that kept a copy of the data fd it passed
// could take the bytes poll announced; one that stops reading fills the socket).
Result<void> ReadExact(int fd, std::span<std::uint8_t> out, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::size_t done = 0;
  while (done < out.size()) {
    if (auto w = Wait(fd, POLLIN, deadline, timeout_ms); !w) return w;
    const ssize_t r = ::recv(fd, out.data() + done, out.size() - done, MSG_DONTWAIT);
    if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (r == 0) return Fail(ErrorCode::kUnavailable, "the peer closed the channel");
    if (r < 0) return Fail(ErrorCode::kUnavailable, "read: {}", std::strerror(errno));
    done += static_cast<std::size_t>(r);
  }
  return {};
}

Result<void> WriteAll(int fd, std::span<const std::uint8_t> bytes, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w =
        ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (auto r = Wait(fd, POLLOUT, deadline, timeout_ms); !r) {
        return Fail(ErrorCode::kUnavailable, "the peer did not read within {} ms", timeout_ms);
      }
      continue;
    }
    if (w <= 0) return Fail(ErrorCode::kUnavailable, "write: {}", std::strerror(errno));
    done += static_cast<std::size_t>(w);
  }
  return {};
}

Result<CtrlHead> ReadCtrlHead(int fd, int timeout_ms) {
  if (auto w = WaitIn(fd, timeout_ms); !w) return Fail(w.error());
  CtrlHead head;
  std::uint8_t code[4];
  iovec iov{code, sizeof(code)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t r;
  do {
    r = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return Fail(ErrorCode::kUnavailable, "the peer closed the channel");
  if (r < 0) return Fail(ErrorCode::kUnavailable, "recvmsg: {}", std::strerror(errno));
  // SECURITY: every fd received is owned (closed unless it is the one): CMSG_SPACE(sizeof(int))
  // has room for two fds on 64-bit, so a second one arrives without MSG_CTRUNC.
  std::size_t fds = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < n; ++i, ++fds) {
      int got = -1;
      std::memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      UniqueFd owned(got);
      if (fds == 0) head.fd = std::move(owned);
    }
  }
  if ((msg.msg_flags & MSG_CTRUNC) || fds > 1) {
    return Fail(ErrorCode::kUnavailable, "more fds than one");
  }
  if (r < 4) {
    if (auto rest = ReadExact(fd, std::span(code + r, 4 - static_cast<std::size_t>(r)), timeout_ms);
        !rest) {
      return Fail(rest.error());
    }
  }
  head.code = LoadBe32(code);
  return head;
}

Result<std::vector<std::uint8_t>> CtrlCall(int fd, CtrlCommand code,
                                           std::span<const std::uint8_t> payload,
                                           std::size_t reply_bytes, int send_fd) {
  std::vector<std::uint8_t> request(4 + payload.size());
  StoreBe32(request.data(), static_cast<std::uint32_t>(code));
  std::copy(payload.begin(), payload.end(), request.begin() + 4);
  iovec iov{request.data(), request.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (send_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &send_fd, sizeof(int));
  }
  ssize_t w;
  do {
    w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (w < 0 && errno == EINTR);
  if (w != static_cast<ssize_t>(request.size())) {
    return Fail(ErrorCode::kUnavailable, "swtpm's control channel: {} not sent",
                CtrlCommandName(static_cast<std::uint32_t>(code)));
  }
  std::vector<std::uint8_t> reply(reply_bytes);
  if (auto r = ReadExact(fd, reply, kPeerTimeoutMs); !r) {
    return Fail(r.error().WithContext(
        fmt::format("swtpm's reply to {}", CtrlCommandName(static_cast<std::uint32_t>(code)))));
  }
  return reply;
}

Result<std::vector<std::uint8_t>> ReadTpmMessage(int fd, int timeout_ms) {
  std::vector<std::uint8_t> msg(10);
  if (auto r = ReadExact(fd, msg, timeout_ms); !r) return Fail(r.error());
  const std::uint32_t size = LoadBe32(msg.data() + 2);
  if (size < 10 || size > kMaxTpmMessage) {
    return Fail(ErrorCode::kInvalidArgument, "a TPM message of {} bytes (10 ... {})", size,
                kMaxTpmMessage);
  }
  msg.resize(size);
  if (auto r = ReadExact(fd, std::span(msg).subspan(10), timeout_ms); !r) return Fail(r.error());
  return msg;
}

}  // namespace shype::vtpm
