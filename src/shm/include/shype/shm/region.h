// SPDX-License-Identifier: Apache-2.0
//
// Region is one shared-memory region and the ivshmem-doorbell server for it (the enforcement
// point of Xen's grant tables and event channels). shyped creates the memory (a memfd sealed
// against resize) and one eventfd per peer and vector, and hands them to each peer's QEMU over a
// socketpair whose end QEMU gets as an fd (`-chardev socket,fd=N` + `-device ivshmem-doorbell`):
// no path, no server socket anyone else could connect to. Region takes no decision: Regions
// (regions.h) asks the ACM before a peer joins. Not thread-safe: shyped's io thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shype/common/id.h"
#include "shype/common/result.h"
#include "shype/common/unique_fd.h"

namespace shype::shm {

// A peer's position in its region (IVPosition in the guest); never reused within a Region.
using PeerId = Id<struct PeerIdTag, std::uint16_t>;

inline constexpr std::uint64_t kMinSize = 4096;
inline constexpr std::uint64_t kMaxSize = std::uint64_t{16} << 30;
inline constexpr std::uint32_t kVectors = 1;  // doorbell vectors per peer
inline constexpr std::size_t kMaxPeers = 64;  // per region

struct PeerView {
  PeerId id{0};
  DomainId domain{0};
  bool connected = true;  // false once shyped could not write to its QEMU (it is leaving)
};

class Region {
 public:
  // A zero-filled region of `size` bytes (a power of two, kMinSize..kMaxSize). Errors:
  // kInvalidArgument (size), kIo (memfd, seals).
  [[nodiscard]] static Result<std::unique_ptr<Region>> Create(std::string name, std::uint64_t size);
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region();  // closes every peer's socket: a QEMU still attached keeps its mapping only

  const std::string& name() const { return name_; }
  std::uint64_t size() const { return size_; }
  int memfd() const { return memfd_.get(); }

  struct Joined {
    PeerId id{0};
    UniqueFd qemu;  // QEMU's end of the server socket (SOCK_STREAM, blocking, close-on-exec)
  };
  // A new peer for `domain`. The whole setup QEMU reads while it creates the device (version,
  // its id, the memory, every present peer's eventfds, its own) is already in the socket when
  // this returns, and every present peer is told of the new one. Errors: kUnavailable (kMaxPeers
  // or ids exhausted), kIo.
  [[nodiscard]] Result<Joined> Join(DomainId domain);
  // Removes a peer: its eventfds and socket close here. The others are not told (QEMU 7.2
  // double-frees on that message, region.cc); their copies of its eventfd ring nobody once its
  // device is unplugged. Unknown ids are ignored.
  void Leave(PeerId id);

  std::vector<PeerView> Peers() const;
  bool empty() const { return peers_.empty(); }

 private:
  struct Peer {
    PeerId id{0};
    DomainId domain{0};
    UniqueFd socket;                 // shyped's end
    std::vector<UniqueFd> eventfds;  // one per vector: ringing it interrupts this peer
    bool connected = true;
  };
  Region(std::string name, std::uint64_t size, UniqueFd memfd);
  // One protocol message (8-byte little-endian int64, optionally one fd) to a peer. A peer whose
  // socket does not take it is marked disconnected (QEMU reads these at once, never blocks us).
  bool Send(Peer& to, std::int64_t value, int fd);

  std::string name_;
  std::uint64_t size_;
  UniqueFd memfd_;
  std::vector<Peer> peers_;
  std::uint32_t next_id_ = 0;
};

}  // namespace shype::shm
