// SPDX-License-Identifier: Apache-2.0
//
// Switch over real socketpairs, each end as QEMU's stream netdev sees it: frames cross only
// between permitted ports, byte for byte and in order; a slow receiver loses frames, never
// blocks the others; a broken stream closes only its own port; detach and revoke are immediate.
#include "shype/vswitch/switch.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "test_frames.h"

namespace shype::vswitch {
namespace {

using testing::Append;
using testing::Arrives;
using testing::kBroadcast;
using testing::Mac;
using testing::Prefix;
using testing::Quiet;
using testing::Receive;
using testing::Send;
using testing::Wire;

class SwitchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Switch::Start("test");
    ASSERT_TRUE(s) << s.error().message;
    sw = std::move(*s);
    for (std::uint8_t i = 1; i <= 3; ++i) {
      auto port = sw->Attach(DomainId{i}, Mac(i));
      ASSERT_TRUE(port) << port.error().message;
      ids.push_back(port->port);
      peers.push_back(std::move(port->peer));
    }
    sw->SetPermitted(ids[0], ids[1], true);  // 1 and 2 share; 3 shares with nobody
  }
  const PortView View(std::size_t i) const {
    for (const PortView& v : sw->Ports()) {
      if (v.id == ids[i]) return v;
    }
    return {};
  }
  // Waits until pred(view of port i) holds, at most 5 s.
  template <class Pred>
  bool WaitFor(std::size_t i, Pred pred) const {
    for (int k = 0; k < 500; ++k) {
      if (pred(View(i))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::unique_ptr<Switch> sw;
  std::vector<PortId> ids;
  std::vector<UniqueFd> peers;
};

TEST_F(SwitchTest, FramesCrossBetweenPermittedPortsByteForByteAndInOrder) {
  std::vector<std::uint8_t> burst;
  for (int i = 0; i < 1000; ++i) {
    Append(burst, Wire(Mac(2), Mac(1), 60 + static_cast<std::size_t>(i % 1400),
                       static_cast<std::uint8_t>(i)));
  }
  std::thread writer([&] { EXPECT_TRUE(Send(peers[0].get(), burst)); });  // many frames per read
  EXPECT_EQ(Receive(peers[1].get(), burst.size()), burst);
  writer.join();
  EXPECT_TRUE(WaitFor(0, [](const PortView& v) { return v.counters.rx_frames == 1000; }));
  // Counted once written: the receiver may read a frame before the switch counts it.
  EXPECT_TRUE(WaitFor(1, [](const PortView& v) { return v.counters.tx_frames == 1000; }));
  EXPECT_TRUE(Quiet(peers[2].get()));
}

TEST_F(SwitchTest, APortOfAnotherCoalitionReceivesNothingNotEvenBroadcast) {
  Send(peers[0].get(), Wire(Mac(3), Mac(1), 60));  // unicast to 3: denied
  ASSERT_TRUE(Send(peers[0].get(), Wire(kBroadcast, Mac(1), 42)));
  ASSERT_EQ(Receive(peers[1].get(), 46), Wire(kBroadcast, Mac(1), 42));
  // Both frames were handled by the time 2 got the second (one sender, in order).
  EXPECT_EQ(View(0).counters.drops_of(DropReason::kDenied), 1U);
  EXPECT_TRUE(Quiet(peers[2].get()));
  EXPECT_EQ(View(2).counters.tx_frames, 0U);
  EXPECT_EQ(View(0).reaches, std::vector<PortId>{ids[1]});
  EXPECT_TRUE(View(2).reaches.empty());
}

TEST_F(SwitchTest, HostileFramesAreCountedAndDroppedAndThePortKeepsServing) {
  std::vector<std::uint8_t> bytes = Wire(Mac(2), Mac(1), 5);  // runt
  Append(bytes, Wire(Mac(2), Mac(1), 9000));                  // oversize (jumbo)
  Append(bytes, Wire(Mac(2), Mac(3), 60));                    // spoofed source
  Append(bytes, Wire(Mac(2), Mac(1), 60, 0x5a));              // good
  ASSERT_TRUE(Send(peers[0].get(), bytes));
  EXPECT_EQ(Receive(peers[1].get(), 64), Wire(Mac(2), Mac(1), 60, 0x5a));
  const PortCounters c = View(0).counters;
  EXPECT_EQ(c.drops_of(DropReason::kRunt), 1U);
  EXPECT_EQ(c.drops_of(DropReason::kOversize), 1U);
  EXPECT_EQ(c.drops_of(DropReason::kSpoofed), 1U);
  EXPECT_EQ(c.rx_frames, 1U);
  EXPECT_TRUE(View(0).connected);
}

TEST_F(SwitchTest, ABadLengthPrefixClosesOnlyThatPort) {
  std::vector<std::uint8_t> bytes = Prefix(0x7fffffffU);
  Append(bytes, Wire(Mac(2), Mac(1), 60));
  ASSERT_TRUE(Send(peers[0].get(), bytes));
  ASSERT_TRUE(WaitFor(0, [](const PortView& v) { return !v.connected; }));
  EXPECT_NE(View(0).closed_why.find("length prefix"), std::string::npos) << View(0).closed_why;
  EXPECT_EQ(View(0).counters.drops_of(DropReason::kBadLength), 1U);
  char byte;
  EXPECT_EQ(::recv(peers[0].get(), &byte, 1, 0), 0);  // QEMU's end sees the close
  EXPECT_TRUE(Quiet(peers[1].get()));
  // The others keep serving.
  sw->SetPermitted(ids[1], ids[2], true);
  ASSERT_TRUE(Send(peers[1].get(), Wire(Mac(3), Mac(2), 60)));
  EXPECT_EQ(Receive(peers[2].get(), 64), Wire(Mac(3), Mac(2), 60));
}

TEST_F(SwitchTest, ASlowReceiverLosesFramesButNeverBlocksTheOthers) {
  sw->SetPermitted(ids[0], ids[2], true);
  // 2 never reads: its socket buffer and then its backlog fill up.
  const auto to_2 = Wire(Mac(2), Mac(1), 1500);
  std::vector<std::uint8_t> flood;
  for (int i = 0; i < 2000; ++i) Append(flood, to_2);  // 3 MB, far more than both can hold
  Append(flood, Wire(Mac(3), Mac(1), 60, 0x33));
  std::thread writer([&] { EXPECT_TRUE(Send(peers[0].get(), flood)); });
  EXPECT_EQ(Receive(peers[2].get(), 64), Wire(Mac(3), Mac(1), 60, 0x33));
  writer.join();
  EXPECT_GT(View(1).counters.drops_of(DropReason::kCongested), 0U);
  // What 2 does get is whole frames in order: read what is there and check the framing.
  std::vector<std::uint8_t> first = Receive(peers[1].get(), to_2.size());
  EXPECT_EQ(first, to_2);
}

TEST_F(SwitchTest, AfterRevokeReturnsNoFrameCrosses) {
  ASSERT_TRUE(Send(peers[0].get(), Wire(Mac(2), Mac(1), 60)));
  ASSERT_EQ(Receive(peers[1].get(), 64).size(), 64U);
  sw->SetPermitted(ids[0], ids[1], false);
  ASSERT_TRUE(Send(peers[0].get(), Wire(Mac(2), Mac(1), 60)));
  ASSERT_TRUE(Send(peers[0].get(), Wire(kBroadcast, Mac(1), 60)));
  ASSERT_TRUE(WaitFor(0, [](const PortView& v) {
    return v.counters.drops_of(DropReason::kDenied) == 1 && v.counters.rx_frames == 3;
  }));
  EXPECT_TRUE(Quiet(peers[1].get()));
}

TEST_F(SwitchTest, DetachClosesQemusEndAndForgetsThePort) {
  sw->Detach(ids[1]);
  char byte;
  EXPECT_EQ(::recv(peers[1].get(), &byte, 1, 0), 0);
  EXPECT_EQ(sw->Ports().size(), 2U);
  EXPECT_TRUE(View(0).reaches.empty());
  sw->Detach(ids[1]);  // again: ignored
  // Its MAC is free again, and a new port gets a new id and no permissions.
  auto again = sw->Attach(DomainId{2}, Mac(2));
  ASSERT_TRUE(again);
  EXPECT_NE(again->port, ids[1]);
  ASSERT_TRUE(Send(peers[0].get(), Wire(Mac(2), Mac(1), 60)));
  ASSERT_TRUE(
      WaitFor(0, [](const PortView& v) { return v.counters.drops_of(DropReason::kDenied) == 1; }));
  EXPECT_TRUE(Quiet(again->peer.get()));
}

TEST_F(SwitchTest, QemuClosingItsEndLeavesThePortListedAsDisconnected) {
  peers[2].Reset();
  ASSERT_TRUE(WaitFor(2, [](const PortView& v) { return !v.connected; }));
  EXPECT_NE(View(2).closed_why.find("closed"), std::string::npos);
}

}  // namespace
}  // namespace shype::vswitch
