// SPDX-License-Identifier: Apache-2.0
//
// Tests of the request-target edge: percent-decoding, UTF-8 and NUL checks, path matching.
#include "shype/api/target.h"

#include <gtest/gtest.h>

namespace shype::api {
namespace {

TEST(TargetTest, QueryValuesAreDecoded) {
  auto q = ParseQuery("a=1&b=x%20y+z&c&d=%3A");
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(*q, (Params{{"a", "1"}, {"b", "x y z"}, {"c", ""}, {"d", ":"}}));
  EXPECT_EQ(ParseQuery("name=caf%C3%A9")->at("name"), "caf\xC3\xA9");
}

TEST(TargetTest, QueryValuesThatAreNotUtf8AreRefusedNamingTheParameter) {
  auto q = ParseQuery("config=x&path=%FF.cfg");
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(q.error().message.rfind(
                "query parameter 'path' is not valid UTF-8 text (byte 0xFF at offset 0", 0),
            0U)
      << q.error().message;
  EXPECT_NE(ParseQuery("na%FFme=1").error().message.find("a query parameter name"),
            std::string::npos);
  EXPECT_NE(ParseQuery("path=a%00b").error().message.find("query parameter 'path' contains a NUL"),
            std::string::npos);
}

TEST(TargetTest, MalformedEscapesAreRefused) {
  for (const char* bad : {"p=%", "p=%4", "p=%zz", "p=a%4g"}) {
    auto q = ParseQuery(bad);
    ASSERT_FALSE(q) << bad;
    EXPECT_NE(q.error().message.find("malformed percent-escape"), std::string::npos) << bad;
  }
}

TEST(TargetTest, RawBytesOutsidePrintableAsciiAreRefused) {
  EXPECT_TRUE(CheckTargetBytes("/v1/domains/bank%201?x=%FF"));
  auto r = CheckTargetBytes("/v1/domains/\xFF");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "the request target has byte 0xFF at offset 12 ('/v1/domains/\\xFF'); percent-encode "
            "it");
  EXPECT_FALSE(CheckTargetBytes("/v1/a\x7F"));
}

TEST(TargetTest, PathParametersAreDecodedAndChecked) {
  std::vector<std::string> pattern = SplitPath("/v1/domains/{name}/pause");
  auto m = MatchPath(pattern, SplitPath("/v1/domains/bank%201/pause"));
  ASSERT_TRUE(m);
  ASSERT_TRUE(*m);
  EXPECT_EQ((**m).at("name"), "bank 1");
  EXPECT_EQ((**MatchPath(pattern, SplitPath("/v1/domains/a+b/pause"))).at("name"), "a+b");
  EXPECT_FALSE(*MatchPath(pattern, SplitPath("/v1/domains/x/unpause")));
  EXPECT_FALSE(*MatchPath(pattern, SplitPath("/v1/domains/x")));
  auto bad = MatchPath(pattern, SplitPath("/v1/domains/%FF/pause"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("path parameter 'name' is not valid UTF-8", 0), 0U)
      << bad.error().message;
  EXPECT_FALSE(MatchPath(pattern, SplitPath("/v1/domains/a%00/pause")));
}

}  // namespace
}  // namespace shype::api
