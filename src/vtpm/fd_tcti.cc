// SPDX-License-Identifier: Apache-2.0
//
// The fd TCTI: transmit writes the whole command, receive reads the 10-byte header, then the
// size it names (10 ... 64 KiB), each within 60 s.
#include "fd_tcti.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace shype::vtpm {
namespace {

constexpr std::uint64_t kMagic = 0x7368797065666474ULL;  // "shypefdt"
constexpr std::size_t kHeader = 10;
constexpr std::size_t kMaxReply = 64 * 1024;
constexpr int kTimeoutMs = 60'000;

FdTcti* Self(TSS2_TCTI_CONTEXT* ctx) { return reinterpret_cast<FdTcti*>(ctx); }

bool WaitReadable(int fd) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    const int r = ::poll(&p, 1, kTimeoutMs);
    if (r > 0) return true;
    if (r == 0 || errno != EINTR) return false;
  }
}

bool ReadExact(int fd, std::uint8_t* out, std::size_t n) {
  while (n > 0) {
    if (!WaitReadable(fd)) return false;
    const ssize_t r = ::read(fd, out, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    out += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

TSS2_RC Transmit(TSS2_TCTI_CONTEXT* ctx, size_t size, const uint8_t* command) {
  FdTcti* self = Self(ctx);
  if (self == nullptr || command == nullptr) return TSS2_TCTI_RC_BAD_REFERENCE;
  while (size > 0) {
    const ssize_t w = ::write(self->fd, command, size);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return TSS2_TCTI_RC_IO_ERROR;
    command += w;
    size -= static_cast<std::size_t>(w);
  }
  return TSS2_RC_SUCCESS;
}

TSS2_RC Receive(TSS2_TCTI_CONTEXT* ctx, size_t* size, uint8_t* response, int32_t /*timeout*/) {
  FdTcti* self = Self(ctx);
  if (self == nullptr || size == nullptr) return TSS2_TCTI_RC_BAD_REFERENCE;
  if (self->pending.empty()) {
    std::uint8_t header[kHeader];
    if (!ReadExact(self->fd, header, kHeader)) return TSS2_TCTI_RC_IO_ERROR;
    const std::size_t total = (std::size_t{header[2]} << 24) | (std::size_t{header[3]} << 16) |
                              (std::size_t{header[4]} << 8) | std::size_t{header[5]};
    if (total < kHeader || total > kMaxReply) return TSS2_TCTI_RC_MALFORMED_RESPONSE;
    self->pending.assign(header, header + kHeader);
    self->pending.resize(total);
    if (!ReadExact(self->fd, self->pending.data() + kHeader, total - kHeader)) {
      self->pending.clear();
      return TSS2_TCTI_RC_IO_ERROR;
    }
  }
  if (response == nullptr) {
    *size = self->pending.size();
    return TSS2_RC_SUCCESS;
  }
  if (*size < self->pending.size()) return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
  std::memcpy(response, self->pending.data(), self->pending.size());
  *size = self->pending.size();
  self->pending.clear();
  return TSS2_RC_SUCCESS;
}

void Finalize(TSS2_TCTI_CONTEXT* /*ctx*/) {}
TSS2_RC Cancel(TSS2_TCTI_CONTEXT* /*ctx*/) { return TSS2_TCTI_RC_NOT_IMPLEMENTED; }
TSS2_RC GetPollHandles(TSS2_TCTI_CONTEXT* /*ctx*/, TSS2_TCTI_POLL_HANDLE* /*handles*/,
                       size_t* /*num*/) {
  return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}
TSS2_RC SetLocality(TSS2_TCTI_CONTEXT* /*ctx*/, uint8_t /*locality*/) {
  return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}
TSS2_RC MakeSticky(TSS2_TCTI_CONTEXT* /*ctx*/, TPM2_HANDLE* /*handle*/, uint8_t /*sticky*/) {
  return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

}  // namespace

std::unique_ptr<FdTcti> MakeFdTcti(int fd) {
  auto t = std::make_unique<FdTcti>();
  t->fd = fd;
  t->common.v1.magic = kMagic;
  t->common.v1.version = 2;
  t->common.v1.transmit = Transmit;
  t->common.v1.receive = Receive;
  t->common.v1.finalize = Finalize;
  t->common.v1.cancel = Cancel;
  t->common.v1.getPollHandles = GetPollHandles;
  t->common.v1.setLocality = SetLocality;
  t->common.makeSticky = MakeSticky;
  return t;
}

}  // namespace shype::vtpm
