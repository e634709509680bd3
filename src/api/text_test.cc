// SPDX-License-Identifier: Apache-2.0
//
// Tests of byte strings at the JSON edge: UTF-8 checks, the never-throwing writer, base64.
#include "shype/api/text.h"

#include <gtest/gtest.h>

namespace shype::api {
namespace {

TEST(TextTest, FindsTheFirstIllFormedByte) {
  EXPECT_FALSE(FindInvalidUtf8("bank1 caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_EQ(FindInvalidUtf8("\xFF.cfg"), 0U);
  EXPECT_EQ(FindInvalidUtf8("caf\xE9.cfg"), 3U);        // Latin-1
  EXPECT_EQ(FindInvalidUtf8("a\xC0\xAF"), 1U);          // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("a\xE0\x80\xAF"), 1U);      // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("a\xED\xA0\x80"), 1U);      // a surrogate
  EXPECT_EQ(FindInvalidUtf8("a\xF4\x90\x80\x80"), 1U);  // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("ab\xE2\x82"), 2U);         // truncated
  EXPECT_EQ(FindInvalidUtf8("\x80"), 0U);               // a lone continuation byte
}

TEST(TextTest, RefusalsNameTheFieldAndShowTheBytesPrintably) {
  auto r = CheckText("\xFF.cfg", "query parameter 'path'");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("query parameter 'path' is not valid UTF-8 text (byte 0xFF at "
                                   "offset 0 of '\\xFF.cfg')"),
            std::string::npos)
      << r.error().message;
  EXPECT_FALSE(FindInvalidUtf8(r.error().message));
  auto nul = CheckText(std::string_view("a\0b", 3), "path parameter 'name'");
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error().message,
            "path parameter 'name' contains a NUL byte (at offset 1 of 'a\\x00b')");
  EXPECT_TRUE(CheckText(std::string_view("a\0b", 3), "x", /*allow_nul=*/true));
}

TEST(TextTest, JsonChecksNameNestedFields) {
  Json body{{"config", "ok"}, {"resources", {"file:/a", "file:/caf\xE9"}}};
  auto r = CheckJsonText(body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("field 'resources[1]' is not valid UTF-8", 0), 0U)
      << r.error().message;
  EXPECT_TRUE(CheckJsonText(Json{{"config", "caf\xC3\xA9"}}));
  Json bad_key{{"\xFF", 1}};
  EXPECT_FALSE(CheckJsonText(bad_key));
}

TEST(TextTest, DumpNeverThrowsAndStrictDumpRefuses) {
  Json reply{{"config", "\xFF.cfg"}, {"name", "bank1"}};
  EXPECT_THROW((void)reply.dump(), Json::type_error);  // what the edges must never reach
  std::string text = DumpJson(reply);
  EXPECT_EQ(text, "{\"config\":\"\xEF\xBF\xBD.cfg\",\"name\":\"bank1\"}");
  auto strict = DumpJsonStrict(reply);
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().message.rfind("field 'config' is not valid UTF-8", 0), 0U);
  EXPECT_EQ(*DumpJsonStrict(Json{{"a", "b"}}), "{\"a\":\"b\"}");
}

TEST(TextTest, EscapeBytesKeepsPrintableAsciiOnly) {
  EXPECT_EQ(EscapeBytes("a\\b\n\xFF"), "a\\x5Cb\\x0A\\xFF");
  EXPECT_EQ(EscapeBytes("abcdef", 3), "abc...");
}

TEST(TextTest, Base64RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t len : {0U, 1U, 2U, 3U, 4U, 255U, 256U}) {
    std::string bytes = all.substr(0, len);
    auto back = DecodeBase64(EncodeBase64(bytes));
    ASSERT_TRUE(back) << len;
    EXPECT_EQ(*back, bytes) << len;
  }
  EXPECT_EQ(EncodeBase64("\xFFok"), "/29r");
  EXPECT_FALSE(DecodeBase64("abc"));
  EXPECT_FALSE(DecodeBase64("ab!d"));
  EXPECT_FALSE(DecodeBase64("a==="));
  EXPECT_FALSE(DecodeBase64("ab=d"));
}

}  // namespace
}  // namespace shype::api
