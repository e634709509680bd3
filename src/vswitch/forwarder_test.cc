// SPDX-License-Identifier: Apache-2.0
//
// The frame path without sockets: each hostile input (runt, oversize, bad length prefix, spoofed
// source, unicast to a forbidden port, broadcast) is written first, then what the switch must do
// with it; good frames reach exactly the permitted ports, byte for byte.
#include "shype/vswitch/forwarder.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "test_frames.h"

namespace shype::vswitch {
namespace {

using testing::Append;
using testing::kBroadcast;
using testing::Mac;
using testing::Prefix;
using testing::Wire;

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (std::uint8_t i = 1; i <= 3; ++i) {
      auto port = fwd.AddPort(Mac(i));
      ASSERT_TRUE(port) << port.error().message;
      ports.push_back(*port);
    }
    a = ports[0];
    b = ports[1];
    c = ports[2];
    fwd.SetPermitted(a, b, true);  // a and b share; c shares with nobody
  }
  IngestResult Feed(PortIndex from, const std::vector<std::uint8_t>& bytes) {
    return fwd.Ingest(from, bytes, [&](PortIndex to, std::span<const std::uint8_t> wire) {
      got[to].push_back(std::vector<std::uint8_t>(wire.begin(), wire.end()));
    });
  }

  Forwarder fwd;
  std::vector<PortIndex> ports;
  PortIndex a = 0, b = 0, c = 0;
  std::map<PortIndex, std::vector<std::vector<std::uint8_t>>> got;
};

TEST_F(ForwarderTest, AUnicastFrameReachesThePermittedPortWithItsLengthPrefix) {
  const auto frame = Wire(Mac(2), Mac(1), 98);
  const IngestResult r = Feed(a, frame);
  EXPECT_EQ(r.consumed, frame.size());
  EXPECT_FALSE(r.framing_lost);
  ASSERT_EQ(got[b].size(), 1U);
  EXPECT_EQ(got[b][0], frame);
  EXPECT_TRUE(got[c].empty());
  EXPECT_EQ(fwd.Counters(a).rx_frames, 1U);
  EXPECT_EQ(fwd.Counters(a).rx_bytes, 98U);
}

TEST_F(ForwarderTest, UnicastToAPortOfAnotherCoalitionIsDroppedAndCountedAsDenied) {
  Feed(a, Wire(Mac(3), Mac(1), 60));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(fwd.Counters(a).drops_of(DropReason::kDenied), 1U);
  EXPECT_EQ(fwd.Counters(c).tx_frames, 0U);
}

TEST_F(ForwarderTest, BroadcastAndMulticastReachOnlyPermittedPorts) {
  Feed(a, Wire(kBroadcast, Mac(1), 42));                            // ARP who-has
  Feed(a, Wire(MacAddress{{0x33, 0x33, 0, 0, 0, 1}}, Mac(1), 86));  // IPv6 all-nodes
  EXPECT_EQ(got[b].size(), 2U);
  EXPECT_FALSE(got.contains(c));  // not one ARP
  EXPECT_FALSE(got.contains(a));  // never back out of its ingress port
  Feed(c, Wire(kBroadcast, Mac(3), 42));
  EXPECT_FALSE(got.contains(a));
  EXPECT_EQ(got[b].size(), 2U);
}

TEST_F(ForwarderTest, ASpoofedSourceMacIsDroppedEvenToAPermittedPort) {
  Feed(a, Wire(Mac(2), Mac(3), 60));  // a poses as c
  Feed(a, Wire(kBroadcast, Mac(9), 60));
  Feed(a, Wire(Mac(2), kBroadcast, 60));  // a group source address
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(fwd.Counters(a).drops_of(DropReason::kSpoofed), 3U);
  EXPECT_EQ(fwd.Counters(a).rx_frames, 0U);
}

TEST_F(ForwarderTest, RuntAndOversizeFramesAreSkippedAndTheStreamStaysInStep) {
  std::vector<std::uint8_t> bytes = Wire(Mac(2), Mac(1), 10);  // a runt
  Append(bytes, Wire(Mac(2), Mac(1), 2000));                   // oversize
  Append(bytes, Wire(Mac(2), Mac(1), 64, 0x11));               // good
  const IngestResult r = Feed(a, bytes);
  EXPECT_EQ(r.consumed, bytes.size());
  ASSERT_EQ(got[b].size(), 1U);
  EXPECT_EQ(got[b][0], Wire(Mac(2), Mac(1), 64, 0x11));
  EXPECT_EQ(fwd.Counters(a).drops_of(DropReason::kRunt), 1U);
  EXPECT_EQ(fwd.Counters(a).drops_of(DropReason::kOversize), 1U);
}

TEST_F(ForwarderTest, AnOversizeFrameIsSkippedAcrossReads) {
  std::vector<std::uint8_t> bytes = Wire(Mac(2), Mac(1), 60000, 0x22);
  const std::vector<std::uint8_t> first(bytes.begin(), bytes.begin() + 1000);
  EXPECT_EQ(Feed(a, first).consumed, first.size());
  std::vector<std::uint8_t> rest(bytes.begin() + 1000, bytes.end());
  Append(rest, Wire(Mac(2), Mac(1), 60));
  EXPECT_EQ(Feed(a, rest).consumed, rest.size());
  ASSERT_EQ(got[b].size(), 1U);
  EXPECT_EQ(got[b][0].size(), 64U);
}

TEST_F(ForwarderTest, ABadLengthPrefixLosesTheFramingAndStopsAtIt) {
  std::vector<std::uint8_t> bytes = Wire(Mac(2), Mac(1), 60);
  Append(bytes, Prefix(0xffffffffU));
  Append(bytes, Wire(Mac(2), Mac(1), 60));
  IngestResult r = Feed(a, bytes);
  EXPECT_TRUE(r.framing_lost);
  EXPECT_EQ(r.consumed, 64U);
  EXPECT_EQ(got[b].size(), 1U);  // what came before it was delivered, nothing after
  EXPECT_EQ(fwd.Counters(a).drops_of(DropReason::kBadLength), 1U);
  EXPECT_TRUE(Feed(b, Prefix(0)).framing_lost);  // zero is no frame either
  EXPECT_TRUE(Feed(b, Prefix(kMaxLengthPrefix + 1)).framing_lost);
}

TEST_F(ForwarderTest, AnIncompleteFrameWaitsForTheRestOfItsBytes) {
  const auto frame = Wire(Mac(2), Mac(1), 100);
  const std::vector<std::uint8_t> head(frame.begin(), frame.begin() + 3);  // not even a prefix
  EXPECT_EQ(Feed(a, head).consumed, 0U);
  const std::vector<std::uint8_t> most(frame.begin(), frame.end() - 1);
  EXPECT_EQ(Feed(a, most).consumed, 0U);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(Feed(a, frame).consumed, frame.size());
  EXPECT_EQ(got[b].size(), 1U);
}

TEST_F(ForwarderTest, UnicastToAnUnknownMacGoesNowhere) {
  Feed(a, Wire(Mac(77), Mac(1), 60));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(fwd.Counters(a).drops_of(DropReason::kNoDestination), 1U);
}

TEST_F(ForwarderTest, RevokingAPairStopsItsFramesAtOnce) {
  fwd.SetPermitted(a, b, false);
  Feed(a, Wire(Mac(2), Mac(1), 60));
  Feed(a, Wire(kBroadcast, Mac(1), 60));
  EXPECT_TRUE(got.empty());
  EXPECT_FALSE(fwd.Permitted(b, a));
}

TEST_F(ForwarderTest, ARemovedPortsIndexComesBackWithNoPermissionsAndItsMacIsFree) {
  fwd.RemovePort(b);
  EXPECT_FALSE(fwd.Permitted(a, b));
  auto again = fwd.AddPort(Mac(2));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, b);
  EXPECT_FALSE(fwd.Permitted(a, *again));
  Feed(a, Wire(Mac(2), Mac(1), 60));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(fwd.Counters(*again).tx_frames, 0U);
}

TEST_F(ForwarderTest, PortsNeedAUniqueUnicastMacAndThereIsALimit) {
  auto dup = fwd.AddPort(Mac(1));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
  EXPECT_NE(dup.error().message.find("52:54:00:00:00:01"), std::string::npos);
  EXPECT_EQ(fwd.AddPort(kBroadcast).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(fwd.AddPort(MacAddress{}).error().code, ErrorCode::kInvalidArgument);
  for (std::size_t i = 3; i < kMaxPorts; ++i) {
    MacAddress m{
        {0x52, 0x54, 0x01, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)}};
    ASSERT_TRUE(fwd.AddPort(m)) << i;
  }
  EXPECT_EQ(fwd.AddPort(Mac(200)).error().code, ErrorCode::kUnavailable);
}

TEST(MacAddressTest, ParsesSixHexPairsAndRefusesTheRest) {
  auto m = MacAddress::Parse("52:54:00:AB:cd:0f");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->ToString(), "52:54:00:ab:cd:0f");
  for (const char* bad : {"", "52:54:00:ab:cd", "52:54:00:ab:cd:0g", "52-54-00-ab-cd-0f",
                          "52:54:00:ab:cd:0f:", "+2:54:00:ab:cd:0f"}) {
    auto r = MacAddress::Parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("six hex pairs"), std::string::npos);
  }
}

}  // namespace
}  // namespace shype::vswitch
