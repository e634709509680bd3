// SPDX-License-Identifier: Apache-2.0
//
// Tests of where the state directory and the API socket are: --state-dir, then SHYPE_STATE_DIR,
// then the default.
#include "shype/api/state_dir.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace shype::api {
namespace {

TEST(StateDirTest, TheFlagWinsThenTheEnvironmentThenTheDefault) {
  ::setenv("SHYPE_STATE_DIR", "/from/env", 1);
  EXPECT_EQ(ResolveStateDir("/from/flag"), "/from/flag");
  EXPECT_EQ(ResolveStateDir(""), "/from/env");
  ::setenv("SHYPE_STATE_DIR", "", 1);  // empty counts as unset
  EXPECT_EQ(ResolveStateDir(""), kDefaultStateDir);
  ::unsetenv("SHYPE_STATE_DIR");
  EXPECT_EQ(ResolveStateDir(""), "/var/lib/shype");
}

TEST(StateDirTest, TheSocketIsInTheStateDirectory) {
  EXPECT_EQ(SocketPath("/var/lib/shype"), "/var/lib/shype/shyped.sock");
}

}  // namespace
}  // namespace shype::api
