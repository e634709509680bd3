// SPDX-License-Identifier: Apache-2.0
//
// Tests of shyped's audit log: denials appended as JSON lines, the tail read back, rotation by
// size (N files kept) with readers and followers that lose nothing to it.
#include "audit_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "shype/common/file.h"

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

class AuditRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("shype-audit-rotation-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // Appends records n = from..to (each 11 bytes with its newline) and writes them.
  void Append(AuditLog& audit, int from, int to) {
    for (int n = from; n <= to; ++n) audit.Append(fmt::format(R"({{"n":{:04}}})", n));
    io_.restart();
    io_.run();
  }
  std::string File(const std::string& name) const {
    return ReadTextFileBounded(dir_ / name, 1U << 20).value_or("<none>");
  }
  std::vector<std::string> Records(int from, int to) const {
    std::vector<std::string> out;
    for (int n = from; n <= to; ++n) out.push_back(fmt::format(R"({{"n":{:04}}})", n));
    return out;
  }

  std::filesystem::path dir_;
  asio::io_context io_;
};

TEST_F(AuditRotationTest, TheLogRotatesBySizeKeepingNFiles) {
  AuditLog audit(io_, dir_ / "audit.log", AuditRotation{36, 2});  // three records a file
  Append(audit, 1, 3);
  EXPECT_EQ(File("audit.log"), "{\"n\":0001}\n{\"n\":0002}\n{\"n\":0003}\n");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "audit.log.1"));
  Append(audit, 4, 10);
  // 1..3 were dropped with the oldest file; 4..6 and 7..9 rotated; 10 is current.
  EXPECT_EQ(File("audit.log.2"), "{\"n\":0004}\n{\"n\":0005}\n{\"n\":0006}\n");
  EXPECT_EQ(File("audit.log.1"), "{\"n\":0007}\n{\"n\":0008}\n{\"n\":0009}\n");
  EXPECT_EQ(File("audit.log"), "{\"n\":0010}\n");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "audit.log.3"));
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "audit.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
}

TEST_F(AuditRotationTest, TheTailReadsAcrossTheRotatedFilesOldestFirst) {
  AuditLog audit(io_, dir_ / "audit.log", AuditRotation{36, 5});
  Append(audit, 1, 10);
  EXPECT_EQ(audit.Tail(100).value(), Records(1, 10));
  EXPECT_EQ(audit.Tail(5).value(), Records(6, 10));
  EXPECT_EQ(audit.Tail(0).value(), std::vector<std::string>{});
}

TEST_F(AuditRotationTest, ARestartedLogCountsTheSizeAlreadyWritten) {
  {
    AuditLog audit(io_, dir_ / "audit.log", AuditRotation{36, 5});
    Append(audit, 1, 2);
  }
  AuditLog again(io_, dir_ / "audit.log", AuditRotation{36, 5});
  Append(again, 3, 4);
  EXPECT_EQ(File("audit.log.1"), "{\"n\":0001}\n{\"n\":0002}\n{\"n\":0003}\n");
  EXPECT_EQ(File("audit.log"), "{\"n\":0004}\n");
}

// A follower sees every record once, in order, across a rotation, including those appended
// while it was still sending the past ones.
TEST_F(AuditRotationTest, AFollowerLosesNoRecordAtARotation) {
  AuditLog audit(io_, dir_ / "audit.log", AuditRotation{36, 5});
  Append(audit, 1, 4);
  std::vector<std::string> seen;
  api::LineWriter write = [&](const std::string& line) -> asio::awaitable<bool> {
    co_await asio::post(io_, asio::use_awaitable);  // a client's socket: the writer waits
    if (!line.empty()) seen.push_back(line);
    if (line == R"({"n":0002})") {  // while the past is sent, more records rotate the log
      for (int n = 5; n <= 8; ++n) audit.Append(fmt::format(R"({{"n":{:04}}})", n));
    }
    if (seen.size() == 8) audit.Close();
    co_return true;
  };
  asio::co_spawn(io_, audit.Follow(100, true, write), asio::detached);
  io_.restart();
  io_.run_for(std::chrono::seconds(2));
  audit.Close();
  io_.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(seen, Records(1, 8));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "audit.log.1"));
}

}  // namespace
}  // namespace shype::daemon
