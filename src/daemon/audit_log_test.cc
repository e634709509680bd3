// SPDX-License-Identifier: Apache-2.0
//
// Tests of shyped's audit log: denials appended as JSON lines, the tail read back.
#include "audit_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <string>
#include <vector>

namespace shype::daemon {
namespace {

namespace asio = boost::asio;

TEST(AuditLogTest, AppendsJsonLinesAndTailsThem) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("shype-audit-{}", ::getpid());
  std::filesystem::create_directories(dir);
  asio::io_context io;
  AuditLog audit(io, dir / "audit.log");
  audit.Append(R"({"n":1})");
  audit.Append(R"({"n":2})");
  io.run();
  auto tail = audit.Tail(1);
  ASSERT_TRUE(tail);
  EXPECT_EQ(*tail, (std::vector<std::string>{R"({"n":2})"}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shype::daemon
