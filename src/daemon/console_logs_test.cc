// SPDX-License-Identifier: Apache-2.0
//
// Tests of the kept console logs: bounded, rotated once, and confined to STATE/logs whatever the
// name or what was planted there (symlinks, FIFOs).
#include "console_logs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "shype/common/file.h"

namespace shype::daemon {
namespace {

namespace fs = std::filesystem;

class ConsoleLogsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("shype-console-logs-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "run");
    auto logs = ConsoleLogs::Open(dir_ / "logs");
    ASSERT_TRUE(logs) << logs.error().message;
    logs_.emplace(std::move(*logs));
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path Console(const std::string& text) const {
    std::ofstream(dir_ / "run" / "console.log", std::ios::trunc | std::ios::binary) << text;
    return dir_ / "run" / "console.log";
  }
  std::string Kept(const std::string& file) const {
    return ReadTextFileBounded(dir_ / "logs" / file, 4U << 20).value_or("<none>");
  }

  fs::path dir_;
  std::optional<ConsoleLogs> logs_;
};

TEST_F(ConsoleLogsTest, KeepsTheLogAndRotatesTheOneBefore) {
  ASSERT_TRUE(logs_->Keep("web", Console("first boot\n")));
  ASSERT_TRUE(logs_->Keep("web", Console("second boot\n")));
  EXPECT_EQ(Kept("web.log"), "second boot\n");
  EXPECT_EQ(Kept("web.log.1"), "first boot\n");
  ASSERT_TRUE(logs_->Keep("web", Console("third\n")));
  EXPECT_EQ(Kept("web.log.1"), "second boot\n");  // only one previous log is kept
  EXPECT_FALSE(fs::exists(dir_ / "logs" / "web.log.2"));
  auto read = logs_->Read("web");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->bytes, "third\n");
  EXPECT_FALSE(read->truncated);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "logs" / "web.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  ASSERT_EQ(::stat((dir_ / "logs").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700U);
}

TEST_F(ConsoleLogsTest, KeepsOnlyTheLastMebibyte) {
  std::string big(ConsoleLogs::kKeptBytes + 100, 'a');
  big.replace(big.size() - 4, 4, "END\n");
  ASSERT_TRUE(logs_->Keep("big", Console(big)));
  EXPECT_EQ(fs::file_size(dir_ / "logs" / "big.log"), ConsoleLogs::kKeptBytes);
  auto read = logs_->Read("big");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->bytes.size(), ConsoleLogs::kKeptBytes);
  EXPECT_TRUE(read->bytes.ends_with("END\n"));
}

TEST_F(ConsoleLogsTest, NothingPrintedKeepsNothingAndAnUnknownNameIsNotFound) {
  ASSERT_TRUE(logs_->Keep("never", dir_ / "run" / "missing.log"));
  EXPECT_FALSE(fs::exists(dir_ / "logs" / "never.log"));
  auto read = logs_->Read("never");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kNotFound);
  EXPECT_NE(read.error().message.find("no console log of a domain named 'never'"),
            std::string::npos)
      << read.error().message;
}

// Attack: a name that would leave the directory is never a file name there.
TEST_F(ConsoleLogsTest, ANameThatIsNoDomainNameIsRefused) {
  const fs::path console = Console("secret\n");
  for (const char* name : {"../escape", ".", "..", "a/b", "", ".hidden", "-x"}) {
    auto kept = logs_->Keep(name, console);
    ASSERT_FALSE(kept) << name;
    EXPECT_EQ(kept.error().code, ErrorCode::kInvalidArgument) << name;
    EXPECT_EQ(logs_->Read(name).error().code, ErrorCode::kNotFound) << name;
  }
  EXPECT_FALSE(fs::exists(dir_ / "escape.log"));
  EXPECT_TRUE(fs::is_empty(dir_ / "logs"));
}

// Attack: a symlink planted as a kept log is never written or read through.
TEST_F(ConsoleLogsTest, APlantedSymlinkIsNeitherWrittenNorReadThrough) {
  std::ofstream(dir_ / "target") << "host file\n";
  fs::create_symlink(dir_ / "target", dir_ / "logs" / "web.log");
  ASSERT_TRUE(logs_->Keep("web", Console("guest output\n")));
  EXPECT_EQ(Kept("web.log"), "guest output\n");
  EXPECT_EQ(ReadTextFileBounded(dir_ / "target", 1024).value_or(""), "host file\n");
  fs::remove(dir_ / "logs" / "web.log");
  fs::create_symlink(dir_ / "target", dir_ / "logs" / "web.log");
  auto read = logs_->Read("web");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kIo);
}

// Attack: a console.log replaced by a symlink or a FIFO is not followed and does not block.
TEST_F(ConsoleLogsTest, AConsoleLogThatIsNoRegularFileIsRefused) {
  std::ofstream(dir_ / "target") << "host file\n";
  fs::create_symlink(dir_ / "target", dir_ / "run" / "link.log");
  EXPECT_FALSE(logs_->Keep("web", dir_ / "run" / "link.log"));
  ASSERT_EQ(::mkfifo((dir_ / "run" / "fifo.log").c_str(), 0600), 0);
  auto fifo = logs_->Keep("web", dir_ / "run" / "fifo.log");
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().message.find("not a regular file"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "logs" / "web.log"));
}

TEST_F(ConsoleLogsTest, TheDirectoryMayNotBeASymlink) {
  fs::create_directories(dir_ / "elsewhere");
  fs::create_symlink(dir_ / "elsewhere", dir_ / "linked");
  auto logs = ConsoleLogs::Open(dir_ / "linked");
  ASSERT_FALSE(logs);
  EXPECT_EQ(logs.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace shype::daemon
