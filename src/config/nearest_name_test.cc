// SPDX-License-Identifier: Apache-2.0
//
// Edit distance and "did you mean": exact distances (swaps count once), the nearness limit, ties.
#include "shype/config/nearest_name.h"

#include <gtest/gtest.h>

#include <string_view>

namespace shype::config {
namespace {

TEST(EditDistanceTest, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(EditDistance("", ""), 0U);
  EXPECT_EQ(EditDistance("", "abc"), 3U);
  EXPECT_EQ(EditDistance("abc", ""), 3U);
  EXPECT_EQ(EditDistance("list", "list"), 0U);
  EXPECT_EQ(EditDistance("lst", "list"), 1U);       // insertion
  EXPECT_EQ(EditDistance("lisst", "list"), 1U);     // deletion
  EXPECT_EQ(EditDistance("lust", "list"), 1U);      // substitution
  EXPECT_EQ(EditDistance("memroy", "memory"), 1U);  // neighbours swapped
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3U);
  EXPECT_EQ(EditDistance("ca", "abc"), 3U);  // optimal string alignment: no edit of a swapped pair
  EXPECT_EQ(EditDistance("dry-run", "dryrun"), 1U);
  EXPECT_EQ(EditDistance("setpolicy", "getpolicy"), 1U);
}

TEST(EditDistanceTest, IsSymmetric) {
  for (auto [a, b] : {std::pair<std::string_view, std::string_view>{"vcpu", "vcpus"},
                      {"memroy", "memory"},
                      {"addlable", "addlabel"},
                      {"abc", "xyz"}}) {
    EXPECT_EQ(EditDistance(a, b), EditDistance(b, a)) << a << " " << b;
  }
}

constexpr std::string_view kCommands[] = {"list",      "labels",  "getlabel", "setpolicy",
                                          "getpolicy", "dry-run", "destroy"};

TEST(NearestNameTest, SuggestsTheNearestWithinAThirdOfTheWord) {
  EXPECT_EQ(NearestName("lst", kCommands), "list");
  EXPECT_EQ(NearestName("lables", kCommands), "labels");
  EXPECT_EQ(NearestName("destory", kCommands), "destroy");
  EXPECT_EQ(NearestName("dryrun", kCommands), "dry-run");
  EXPECT_EQ(NearestName("getlabl", kCommands), "getlabel");
}

TEST(NearestNameTest, SuggestsNothingFarAway) {
  EXPECT_EQ(NearestName("frobnicate", kCommands), std::nullopt);
  EXPECT_EQ(NearestName("ls", kCommands), std::nullopt);  // 2 edits: more than max(1, 2 / 3)
  EXPECT_EQ(NearestName("", kCommands), std::nullopt);
  EXPECT_EQ(NearestName("lst", {}), std::nullopt);
  EXPECT_EQ(NearestName("list", kCommands), std::nullopt);  // the word itself is not a typo
}

TEST(NearestNameTest, TiesGoToTheEarlierCandidate) {
  // "xetpolicy" is one edit from both setpolicy and getpolicy.
  EXPECT_EQ(NearestName("xetpolicy", kCommands), "setpolicy");
  constexpr std::string_view kReversed[] = {"getpolicy", "setpolicy"};
  EXPECT_EQ(NearestName("xetpolicy", kReversed), "getpolicy");
}

}  // namespace
}  // namespace shype::config
