// SPDX-License-Identifier: Apache-2.0
//
// Tests of the API wire conventions: error mapping and typed body fields.
#include "shype/api/wire.h"

#include <gtest/gtest.h>

#include "shype/api/client.h"
#include "shype/api/endpoints.h"

namespace shype::api {
namespace {

TEST(WireTest, ErrorsRoundTripThroughJsonWithTheirCode) {
  Error e{ErrorCode::kConflict, "Chinese Wall: bank conflicts with game"};
  Error back = ErrorFromJson(ErrorToJson(e), HttpStatusFor(e.code));
  EXPECT_EQ(back.code, ErrorCode::kConflict);
  EXPECT_EQ(back.message, e.message);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404U);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInvalidArgument), 400U);
}

TEST(WireTest, BadBodiesAreRejectedWithTheReason) {
  EXPECT_EQ(ParseJsonBody("{not json").error().message, "request body is not valid JSON");
  EXPECT_EQ(ParseJsonBody("[1,2]").error().message,
            "request body must be a JSON object, got array");
  auto body = ParseJsonBody(R"({"config": 5, "force": "yes"})");
  ASSERT_TRUE(body);
  EXPECT_EQ(RequireString(*body, "config").error().message,
            "field 'config' must be a string, got number");
  EXPECT_EQ(RequireString(*body, "name").error().message,
            "field 'name' is missing (a string is expected)");
  EXPECT_EQ(OptionalBool(*body, "force", false).error().message,
            "field 'force' must be a boolean, got string");
  EXPECT_EQ(*OptionalString(*body, "label", "none"), "none");
}

TEST(WireTest, UrlEncodeEscapesReservedCharacters) {
  EXPECT_EQ(UrlEncode("file:/img/a b.img"), "file%3A%2Fimg%2Fa%20b.img");
}

}  // namespace
}  // namespace shype::api

namespace shype::api {
namespace {

TEST(EndpointsTest, BuildsTargetsWithPathAndQueryParameters) {
  auto pause = FindEndpoint("domain.pause");
  ASSERT_TRUE(pause);
  auto t = BuildTarget(*pause, Json{{"name", "bank 1"}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->target, "/v1/domains/bank%201/pause");
  ASSERT_TRUE(t->body);
  EXPECT_TRUE(t->body->empty());
  auto labels = BuildTarget(*FindEndpoint("labels"), Json{{"type", "res"}});
  EXPECT_EQ(labels->target, "/v1/labels?type=res");
  auto missing = BuildTarget(*pause, Json::object());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "domain.pause: parameter 'name' is required");
}

TEST(EndpointsTest, OperationNamesAreUnique) {
  auto all = Endpoints();
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = i + 1; j < all.size(); ++j) EXPECT_NE(all[i].op, all[j].op);
  }
}

}  // namespace
}  // namespace shype::api
