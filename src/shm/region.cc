// SPDX-License-Identifier: Apache-2.0
//
// Region: the memory and the ivshmem-doorbell server protocol (region.h). The protocol, per
// QEMU's ivshmem-spec: one-way, server to client, each message an 8-byte little-endian int64,
// some with one fd (SCM_RIGHTS). On connect: version 0; the client's id; -1 with the memory;
// each present peer's id once per vector with that peer's eventfd; the client's own id once per
// vector with its own eventfds. Then each present peer gets the new id with its eventfds. The
// protocol's departure message (the id without an fd) is never sent: see Leave.
#include "shype/shm/region.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "shype/common/log.h"

namespace shype::shm {

Result<std::unique_ptr<Region>> Region::Create(std::string name, std::uint64_t size) {
  if (size < kMinSize || size > kMaxSize || !std::has_single_bit(size)) {
    return Fail(ErrorCode::kInvalidArgument,
                "region '{}': size {} must be a power of two from 4K to 16G (it is a PCI BAR)",
                name, size);
  }
  const std::string label = "shype-shm:" + name;
  UniqueFd fd(::memfd_create(label.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) {
    return Fail(ErrorCode::kIo, "region '{}': memfd_create: {}", name, std::strerror(errno));
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    return Fail(ErrorCode::kIo, "region '{}': cannot size it to {} bytes: {}", name, size,
                std::strerror(errno));
  }
  // SECURITY: a peer's QEMU maps the whole region; one that could shrink it would make every
  // other peer's QEMU fault (SIGBUS) on its next access, one that could grow it would take host
  // memory. No seal may be removed or added later.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return Fail(ErrorCode::kIo, "region '{}': cannot seal its size: {}", name,
                std::strerror(errno));
  }
  return std::unique_ptr<Region>(new Region(std::move(name), size, std::move(fd)));
}

Region::Region(std::string name, std::uint64_t size, UniqueFd memfd)
    : name_(std::move(name)), size_(size), memfd_(std::move(memfd)) {}

Region::~Region() = default;

bool Region::Send(Peer& to, std::int64_t value, int fd) {
  if (!to.connected) return false;
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(value) >> (8 * i));
  }
  iovec iov{bytes, sizeof bytes};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = ::sendmsg(to.socket.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof bytes)) return true;
  // A full socket (a QEMU that stopped reading) or a closed one: this peer leaves; it must not
  // hold up the others, and a half-written message would desynchronise its stream.
  log::Warn("region '{}': peer {} (domain {}) stopped taking doorbell setup: {}", name_,
            to.id.value(), to.domain.value(), n < 0 ? std::strerror(errno) : "short write");
  to.connected = false;
  return false;
}

// Long: the protocol's connect sequence, in the order QEMU reads it.
Result<Region::Joined> Region::Join(DomainId domain) {
  if (peers_.size() >= kMaxPeers) {
    return Fail(ErrorCode::kUnavailable, "region '{}' has {} peers, the most it takes", name_,
                kMaxPeers);
  }
  if (next_id_ > 0xffffU) {
    return Fail(ErrorCode::kUnavailable, "region '{}' has given out every peer id", name_);
  }
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
    return Fail(ErrorCode::kIo, "region '{}': socketpair: {}", name_, std::strerror(errno));
  }
  UniqueFd qemu(ends[1]);
  Peer peer;
  peer.id = PeerId{static_cast<std::uint16_t>(next_id_)};
  peer.domain = domain;
  peer.socket.Reset(ends[0]);
  for (std::uint32_t v = 0; v < kVectors; ++v) {
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!efd.valid()) {
      return Fail(ErrorCode::kIo, "region '{}': eventfd: {}", name_, std::strerror(errno));
    }
    peer.eventfds.push_back(std::move(efd));
  }
  const std::int64_t id = peer.id.value();
  bool ok = Send(peer, 0, -1) && Send(peer, id, -1) && Send(peer, -1, memfd_.get());
  for (const Peer& other : peers_) {
    if (!other.connected) continue;  // leaving: the new peer never learns of it
    for (const UniqueFd& efd : other.eventfds) ok = ok && Send(peer, other.id.value(), efd.get());
  }
  for (const UniqueFd& efd : peer.eventfds) ok = ok && Send(peer, id, efd.get());
  if (!ok) {
    return Fail(ErrorCode::kIo, "region '{}': cannot hand the setup to the new peer's QEMU", name_);
  }
  ++next_id_;
  for (Peer& other : peers_) {
    for (const UniqueFd& efd : peer.eventfds) (void)Send(other, id, efd.get());
  }
  peers_.push_back(std::move(peer));
  return Joined{PeerId{static_cast<std::uint16_t>(id)}, std::move(qemu)};
}

void Region::Leave(PeerId id) {
  auto it = std::find_if(peers_.begin(), peers_.end(), [&](const Peer& p) { return p.id == id; });
  if (it == peers_.end()) return;
  peers_.erase(it);
  // SECURITY: no departure message to the others. QEMU 7.2 frees a departed peer's eventfd array
  // on it without clearing the pointer and frees it again when its own device is unplugged or
  // it exits: a peer that joined and left could corrupt every other peer's QEMU heap. So the
  // others keep their copy of its eventfd; it rings nobody once its device is unplugged (its
  // QEMU closes its own), and shyped's copies close here.
}

std::vector<PeerView> Region::Peers() const {
  std::vector<PeerView> out;
  for (const Peer& p : peers_) out.push_back(PeerView{p.id, p.domain, p.connected});
  return out;
}

}  // namespace shype::shm
