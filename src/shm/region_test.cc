// SPDX-License-Identifier: Apache-2.0
//
// Region: the memory's seals and the ivshmem-doorbell protocol, read from real sockets as QEMU
// reads it; doorbells rung through the eventfds handed out.
#include "shype/shm/region.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstring>

#include "ivshmem_client.h"

namespace shype::shm {
namespace {

using testing::ReadMessage;

std::uint64_t SizeOf(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return static_cast<std::uint64_t>(st.st_size);
}

// Reads the setup a new peer gets: version, its id, the memory, `present` peers' eventfds, its
// own. Returns (memory fd, peers' eventfds by id, own eventfd).
struct PeerSetup {
  std::int64_t id = -1;
  UniqueFd memory;
  std::vector<std::pair<std::int64_t, UniqueFd>> peers;
  UniqueFd own;
};
PeerSetup ReadSetup(int socket, std::size_t present) {
  PeerSetup s;
  auto version = ReadMessage(socket);
  EXPECT_TRUE(version && version->value == 0 && !version->fd.valid());
  auto id = ReadMessage(socket);
  EXPECT_TRUE(id && !id->fd.valid());
  if (id) s.id = id->value;
  auto memory = ReadMessage(socket);
  EXPECT_TRUE(memory && memory->value == -1 && memory->fd.valid());
  if (memory) s.memory = std::move(memory->fd);
  for (std::size_t i = 0; i < present; ++i) {
    auto peer = ReadMessage(socket);
    EXPECT_TRUE(peer && peer->fd.valid());
    if (peer) s.peers.emplace_back(peer->value, std::move(peer->fd));
  }
  auto own = ReadMessage(socket);
  EXPECT_TRUE(own && own->value == s.id && own->fd.valid());
  if (own) s.own = std::move(own->fd);
  EXPECT_FALSE(ReadMessage(socket, 50)) << "more setup than the protocol has";
  return s;
}

void Ring(int eventfd) {
  const std::uint64_t one = 1;
  ASSERT_EQ(::write(eventfd, &one, sizeof one), 8);
}
std::uint64_t Rung(int eventfd) {  // 0: not rung
  std::uint64_t count = 0;
  return ::read(eventfd, &count, sizeof count) == 8 ? count : 0;
}

TEST(Region, SizeMustBeAPowerOfTwoFrom4K) {
  for (std::uint64_t bad : {0ULL, 1024ULL, 4097ULL, 3ULL << 20, 32ULL << 30}) {
    auto r = Region::Create("r", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("power of two"), std::string::npos) << r.error().message;
  }
}

TEST(Region, MemoryIsZeroedAndSealedAgainstResize) {
  auto r = Region::Create("sealed", 64 * 1024);
  ASSERT_TRUE(r) << r.error().message;
  const int fd = (*r)->memfd();
  EXPECT_EQ(SizeOf(fd), 64U * 1024);
  // Attack: a peer's QEMU shrinking the region would fault every other peer's QEMU.
  EXPECT_NE(::ftruncate(fd, 4096), 0);
  EXPECT_NE(::ftruncate(fd, 1 << 20), 0);
  EXPECT_NE(::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0) << "the seals themselves are sealed";
  EXPECT_EQ(SizeOf(fd), 64U * 1024);
  void* map = ::mmap(nullptr, 64 * 1024, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  const auto* bytes = static_cast<const unsigned char*>(map);
  EXPECT_TRUE(std::all_of(bytes, bytes + 64 * 1024, [](unsigned char b) { return b == 0; }));
  ::munmap(map, 64 * 1024);
}

TEST(Region, FirstPeerGetsVersionIdMemoryAndItsOwnEventfd) {
  auto r = Region::Create("one", 4096);
  ASSERT_TRUE(r);
  auto a = (*r)->Join(DomainId{3});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->id, PeerId{0});
  PeerSetup s = ReadSetup(a->qemu.get(), 0);
  EXPECT_EQ(s.id, 0);
  EXPECT_EQ(SizeOf(s.memory.get()), 4096U);
  // The memory QEMU gets is the region: the host sees what the "guest" writes.
  void* guest = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, s.memory.get(), 0);
  void* host = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, (*r)->memfd(), 0);
  ASSERT_NE(guest, MAP_FAILED);
  ASSERT_NE(host, MAP_FAILED);
  std::memcpy(guest, "HELLO", 6);
  EXPECT_STREQ(static_cast<const char*>(host), "HELLO");
  ::munmap(guest, 4096);
  ::munmap(host, 4096);
}

TEST(Region, PeersLearnOfEachOtherAndRingEachOther) {
  auto r = Region::Create("two", 4096);
  ASSERT_TRUE(r);
  auto a = (*r)->Join(DomainId{3});
  ASSERT_TRUE(a);
  PeerSetup sa = ReadSetup(a->qemu.get(), 0);
  auto b = (*r)->Join(DomainId{4});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, PeerId{1});
  PeerSetup sb = ReadSetup(b->qemu.get(), 1);
  ASSERT_EQ(sb.peers.size(), 1U);
  EXPECT_EQ(sb.peers[0].first, 0);
  auto announce = ReadMessage(a->qemu.get());  // A hears of B
  ASSERT_TRUE(announce && announce->value == 1 && announce->fd.valid());
  // B rings A through the eventfd it got for peer 0: A's own eventfd fires, B's does not.
  Ring(sb.peers[0].second.get());
  EXPECT_EQ(Rung(sa.own.get()), 1U);
  EXPECT_EQ(Rung(sb.own.get()), 0U);
  Ring(announce->fd.get());
  EXPECT_EQ(Rung(sb.own.get()), 1U);
}

TEST(Region, LeavingIsNeverAnnouncedAndIdsAreNotReused) {
  auto r = Region::Create("leave", 4096);
  ASSERT_TRUE(r);
  auto a = (*r)->Join(DomainId{3});
  ASSERT_TRUE(a);
  (void)ReadSetup(a->qemu.get(), 0);
  auto b = (*r)->Join(DomainId{4});
  ASSERT_TRUE(b);
  (void)ReadMessage(a->qemu.get());  // B's arrival
  (*r)->Leave(b->id);
  // Attack: join and leave to make every other peer's QEMU double-free at its unplug (QEMU 7.2
  // frees a departed peer's eventfds on the departure message and again at unplug).
  EXPECT_FALSE(ReadMessage(a->qemu.get(), 50)) << "no departure message";
  auto c = (*r)->Join(DomainId{5});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id, PeerId{2});
  PeerSetup sc = ReadSetup(c->qemu.get(), 1);  // only A is present
  EXPECT_EQ(sc.peers[0].first, 0);
  ASSERT_EQ((*r)->Peers().size(), 2U);
  (*r)->Leave(PeerId{77});  // unknown: ignored
  EXPECT_EQ((*r)->Peers().size(), 2U);
}

TEST(Region, APeerWhoseQemuIsGoneDoesNotStopOthersJoining) {
  auto r = Region::Create("gone", 4096);
  ASSERT_TRUE(r);
  auto a = (*r)->Join(DomainId{3});
  ASSERT_TRUE(a);
  a->qemu.Reset();  // QEMU died without the domain having been released yet
  auto b = (*r)->Join(DomainId{4});
  ASSERT_TRUE(b) << b.error().message;
  (void)ReadSetup(b->qemu.get(), 1);
  const auto peers = (*r)->Peers();
  ASSERT_EQ(peers.size(), 2U);
  EXPECT_FALSE(peers[0].connected);
  EXPECT_TRUE(peers[1].connected);
}

}  // namespace
}  // namespace shype::shm
