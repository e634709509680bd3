// SPDX-License-Identifier: Apache-2.0
//
// Tests of the state checks with real SQLite files: a fresh directory opens, while a missing,
// empty or corrupt labels.db (or -wal, or active policy file) is refused once state existed.
#include "shype/store/state_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "shype/common/file.h"
#include "shype/store/state_store.h"

namespace shype::store {
namespace {

using ::testing::HasSubstr;

class StateCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("shype-check-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path db() const { return dir_ / "labels.db"; }

  // Installs and activates policy "P" 1.0 (XML "<xml P/>"), then closes the store or, with
  // `crash`, ends the process with the database still open (as kill -9 would).
  void InstallPolicy(bool crash = false) {
    auto store = StateStore::Open(dir_);
    ASSERT_TRUE(store) << store.error().message;
    std::string xml = "<xml P/>";
    PolicyFiles files{{xml.begin(), xml.end()}, {1, 2, 3}, "map"};
    PolicyRecord record{"P", "1.0", HexEncode(Sha1(files.xml)), 0};
    ASSERT_TRUE(store->InstallPolicy(record, files, true, {}));
    if (crash) ::_exit(0);
  }

  void RecordDomain(const std::string& name) {
    std::filesystem::create_directories(dir_ / "run" / name);
    std::ofstream(dir_ / "run" / name / "domain.json") << "{}";
  }

  void Write(const std::filesystem::path& path, std::string_view bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  // Runs `fn` in a child process (which must end itself without closing what it opened).
  template <class Fn>
  void InCrashingChild(Fn fn) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      fn();
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  std::string OpenError() {
    auto store = StateStore::Open(dir_);
    return store ? "" : store.error().message;
  }

  std::filesystem::path dir_;
};

TEST_F(StateCheckTest, FreshDirectoryOpensOnTheDefaultPolicy) {
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store) << store.error().message;
  auto active = store->ActivePolicy();
  ASSERT_TRUE(active);
  EXPECT_FALSE(*active);
  EXPECT_TRUE(std::filesystem::exists(db()));
}

TEST_F(StateCheckTest, ReopensAnInstalledPolicy) {
  InstallPolicy();
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_TRUE(CheckActivePolicyFiles(*store));
}

TEST_F(StateCheckTest, RefusesMissingDatabaseWhenAPolicyIsInstalled) {
  InstallPolicy();
  std::filesystem::remove(db());
  std::string error = OpenError();
  EXPECT_THAT(error, HasSubstr(db().string() + "' is missing"));
  EXPECT_THAT(error, HasSubstr("policies are installed"));
  EXPECT_THAT(error, HasSubstr("restore the file from a backup"));
  EXPECT_FALSE(std::filesystem::exists(db())) << "no fresh database may be created";
}

TEST_F(StateCheckTest, RefusesMissingDatabaseWhenDomainsAreRecordedRunning) {
  RecordDomain("bank1");
  std::string error = OpenError();
  EXPECT_THAT(error, HasSubstr("is missing"));
  EXPECT_THAT(error, HasSubstr("1 domain(s) are recorded running under run/ (bank1)"));
}

TEST_F(StateCheckTest, RefusesEmptyDatabaseWhenStateExists) {
  InstallPolicy();
  std::filesystem::resize_file(db(), 0);
  EXPECT_THAT(OpenError(), HasSubstr("is empty (0 bytes)"));
}

TEST_F(StateCheckTest, AcceptsEmptyDatabaseInAFreshDirectory) {
  std::filesystem::create_directories(dir_);
  Write(db(), "");
  EXPECT_EQ(OpenError(), "");
}

TEST_F(StateCheckTest, RefusesGarbageDatabaseEvenWithoutOtherState) {
  std::filesystem::create_directories(dir_);
  Write(db(), std::string(8192, 'x'));
  EXPECT_THAT(OpenError(), HasSubstr("is not an SQLite database"));
}

TEST_F(StateCheckTest, RefusesDatabaseWithoutTablesWhenStateExists) {
  InstallPolicy();
  std::filesystem::remove(db());
  {
    auto empty = Database::Open(db());  // a valid SQLite file (WAL mode) with no tables
    ASSERT_TRUE(empty);
  }
  EXPECT_THAT(OpenError(), HasSubstr("holds no tables (an empty database)"));
}

TEST_F(StateCheckTest, RefusesDatabaseWithADamagedPage) {
  InstallPolicy();
  {
    auto raw = Database::Open(db());
    ASSERT_TRUE(raw);
    ASSERT_TRUE(
        raw->Exec("CREATE TABLE filler(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                  "SELECT i + 1 FROM n WHERE i < 200) INSERT INTO filler "
                  "SELECT randomblob(500) FROM n;"));
  }
  auto size = std::filesystem::file_size(db());
  ASSERT_GT(size, 8 * 4096U);
  std::fstream f(db(), std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(4096 * 3);
  std::string garbage(4096 * 3, '\xA5');
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  f.close();
  EXPECT_THAT(OpenError(), HasSubstr("is corrupt"));
}

TEST_F(StateCheckTest, AcceptsTheWalOfACrashedWriterAndKeepsItsCommits) {
  InCrashingChild([&] { InstallPolicy(/*crash=*/true); });
  ASSERT_TRUE(std::filesystem::exists(dir_ / "labels.db-wal"));
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store) << store.error().message;
  auto active = store->ActivePolicy();
  ASSERT_TRUE(active && *active);
  EXPECT_EQ((*active)->name, "P");
}

TEST_F(StateCheckTest, RefusesGarbageWal) {
  InCrashingChild([&] { InstallPolicy(/*crash=*/true); });
  auto wal = dir_ / "labels.db-wal";
  auto size = std::filesystem::file_size(wal);
  Write(wal, std::string(size, 'x'));
  EXPECT_THAT(OpenError(), HasSubstr("is not an SQLite write-ahead log"));
}

TEST_F(StateCheckTest, RefusesWalWithDamagedHeaderChecksum) {
  InCrashingChild([&] { InstallPolicy(/*crash=*/true); });
  auto wal = dir_ / "labels.db-wal";
  std::fstream f(wal, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(16);  // salt-1: covered by the header checksum
  const char salt = static_cast<char>(f.get());
  f.seekp(16);
  f.put(static_cast<char>(salt ^
                          0x5a));  // always a change (a fixed byte equals the random salt 1 in 256)
  f.close();
  EXPECT_THAT(OpenError(), HasSubstr("checksum mismatch"));
}

TEST_F(StateCheckTest, RefusesWalShorterThanItsHeader) {
  auto r = CheckWalHeader({0x37, 0x7f}, "x-wal");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("shorter than a WAL header"));
}

TEST_F(StateCheckTest, RefusesDeletedWalWhoseFramesWereNotCheckpointed) {
  // A writer without the store's checkpoint-per-commit leaves its commits only in the WAL.
  InCrashingChild([&] {
    std::filesystem::create_directories(dir_);
    auto raw = Database::Open(db());
    if (!raw || !raw->Exec("PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x); INSERT INTO t "
                           "VALUES (1);")) {
      ::_exit(1);
    }
    ::_exit(0);
  });
  ASSERT_TRUE(std::filesystem::exists(dir_ / "labels.db-shm"));
  std::filesystem::remove(dir_ / "labels.db-wal");
  std::string error = OpenError();
  EXPECT_THAT(error, HasSubstr("labels.db-wal' is missing"));
  EXPECT_THAT(error, HasSubstr("committed WAL frame(s) not yet written into labels.db"));
}

TEST_F(StateCheckTest, StoreCommitsSurviveADeletedWal) {
  InCrashingChild([&] { InstallPolicy(/*crash=*/true); });
  std::filesystem::remove(dir_ / "labels.db-wal");
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store) << store.error().message;
  auto active = store->ActivePolicy();
  ASSERT_TRUE(active && *active) << "the commit was checkpointed into labels.db";
}

TEST_F(StateCheckTest, RefusesActivePolicyWithChangedXml) {
  InstallPolicy();
  Write(dir_ / "policies/P/1.0/policy.xml", "<xml Q/>");
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store);
  auto r = CheckActivePolicyFiles(*store);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPolicyInvalid);
  EXPECT_THAT(r.error().message, HasSubstr("policy.xml' is not the XML installed"));
}

TEST_F(StateCheckTest, RefusesActivePolicyWithAMissingOrEmptyFile) {
  InstallPolicy();
  std::filesystem::remove(dir_ / "policies/P/1.0/policy.bin");
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store);
  auto missing = CheckActivePolicyFiles(*store);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("policy.bin' is missing"));
  Write(dir_ / "policies/P/1.0/policy.bin", "\x01\x02\x03");
  std::filesystem::resize_file(dir_ / "policies/P/1.0/policy.map", 0);
  auto empty = CheckActivePolicyFiles(*store);
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message, HasSubstr("policy.map' is empty (0 bytes)"));
}

}  // namespace
}  // namespace shype::store
