// SPDX-License-Identifier: Apache-2.0
//
// Which operations /api/v1/... reaches: not save or restore, nothing outside api::Endpoints().
#include "forward.h"

#include <gtest/gtest.h>

namespace shype::web {
namespace {

TEST(ForwardTest, WithholdsSaveAndRestore) {
  auto save = FindForwarded("POST", "/v1/domains/bank/save");
  ASSERT_FALSE(save);
  EXPECT_EQ(save.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(save.error().message.find("shype save"), std::string::npos);
  auto restore = FindForwarded("POST", "/v1/restore");
  ASSERT_FALSE(restore);
  EXPECT_EQ(restore.error().code, ErrorCode::kPermissionDenied);
}

TEST(ForwardTest, RefusesUnknownPathsAndMethods) {
  for (auto [method, path] :
       {std::pair{"GET", "/v1/nothing"}, std::pair{"DELETE", "/v1/policy"},
        std::pair{"GET", "/v1/domains/a/b/c"}, std::pair{"GET", "/v2/version"},
        std::pair{"GET", "/v1"}, std::pair{"POST", "/v1/version"}}) {
    auto found = FindForwarded(method, path);
    ASSERT_FALSE(found) << method << " " << path;
    EXPECT_EQ(found.error().code, ErrorCode::kNotFound) << path;
  }
}

TEST(ForwardTest, RefusesAMalformedPathParameter) {
  auto found = FindForwarded("GET", "/v1/domains/%FF");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::kInvalidArgument);
}

TEST(ForwardTest, ForwardsEveryOtherOperation) {
  std::size_t forwarded = 0;
  for (const api::Endpoint& e : api::Endpoints()) {
    std::string path(e.path);  // every {parameter} given a value
    for (std::size_t at; (at = path.find('{')) != std::string::npos;) {
      path.replace(at, path.find('}', at) - at + 1, "bank");
    }
    auto found = FindForwarded(e.method, path);
    if (IsWithheld(e.op)) {
      EXPECT_FALSE(found) << e.op;
      continue;
    }
    ASSERT_TRUE(found) << e.op << ": " << found.error().message;
    EXPECT_EQ(found->op, e.op);
    ++forwarded;
  }
  EXPECT_EQ(forwarded + 2, api::Endpoints().size());
}

}  // namespace
}  // namespace shype::web
