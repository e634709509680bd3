// SPDX-License-Identifier: Apache-2.0
//
// --listen: IP literals and localhost, loopback told apart, wildcards and names refused.
#include "listen_address.h"

#include <gtest/gtest.h>

namespace shype::web {
namespace {

TEST(ListenAddressTest, RefusesAWildcardAddress) {
  for (const char* text : {"0.0.0.0:8080", "[::]:8080"}) {
    auto a = ParseListenAddress(text);
    ASSERT_FALSE(a) << text;
    EXPECT_NE(a.error().message.find("wildcard"), std::string::npos);
  }
}

TEST(ListenAddressTest, RefusesHostNamesOtherThanLocalhost) {
  auto a = ParseListenAddress("evil.example:8080");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("not an IP address"), std::string::npos);
}

TEST(ListenAddressTest, RefusesBadPortsAndForms) {
  for (const char* text : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                           "127.0.0.1:80x", "::1:8080", ":8080"}) {
    EXPECT_FALSE(ParseListenAddress(text)) << text;
  }
}

TEST(ListenAddressTest, ParsesLoopbackAndOtherAddresses) {
  auto v4 = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->loopback);
  EXPECT_EQ(AcceptedHosts(*v4, 8080),
            (std::vector<std::string>{"127.0.0.1:8080", "localhost:8080"}));
  auto local = ParseListenAddress("localhost:0");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->ip, "127.0.0.1");
  EXPECT_EQ(local->port, 0);
  auto v6 = ParseListenAddress("[::1]:9000");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->loopback);
  EXPECT_EQ(HostPort(*v6, 9000), "[::1]:9000");
  auto lan = ParseListenAddress("192.168.1.5:8080");
  ASSERT_TRUE(lan);
  EXPECT_FALSE(lan->loopback);
  EXPECT_EQ(AcceptedHosts(*lan, 8080), (std::vector<std::string>{"192.168.1.5:8080"}));
}

}  // namespace
}  // namespace shype::web
