// SPDX-License-Identifier: Apache-2.0
//
// Tests of the state directory: policy install/activate/history, resource labels, concurrent
// writers from several processes, and reads that create and change nothing.
#include "shype/store/state_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "shype/common/file.h"
#include "shype/store/sqlite.h"

namespace shype::store {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("shype-store-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static PolicyFiles Files(std::string_view tag) {
    PolicyFiles files;
    files.xml.assign(tag.begin(), tag.end());
    files.binary = {1, 2, 3};
    files.map = std::string(tag);
    return files;
  }

  std::filesystem::path dir_;
};

TEST_F(StateStoreTest, InstallsAndActivatesPolicyVersionsKeepingHistory) {
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store) << store.error().message;
  auto none = store->ActivePolicy();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  PolicyRecord v1{"demo", "1.0", "aa", 0};
  PolicyRecord v2{"demo", "1.1", "bb", 0};
  ASSERT_TRUE(store->InstallPolicy(v1, Files("one"), true, {}));
  ASSERT_TRUE(store->InstallPolicy(v2, Files("two"), true, {}));
  auto active = store->ActivePolicy();
  ASSERT_TRUE(active && *active);
  EXPECT_EQ((*active)->version, "1.1");
  auto history = store->Policies();
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 2U);
  EXPECT_EQ((*history)[0].version, "1.0");
  auto files = store->ReadPolicyFiles(v1);
  ASSERT_TRUE(files);
  EXPECT_EQ(files->map, "one");
  EXPECT_EQ(files->binary, (std::vector<std::uint8_t>{1, 2, 3}));
}

TEST_F(StateStoreTest, RefusesSameVersionWithDifferentContent) {
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->InstallPolicy({"demo", "1.0", "aa", 0}, Files("one"), true, {}));
  auto again = store->InstallPolicy({"demo", "1.0", "cc", 0}, Files("other"), true, {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_NE(again.error().message.find("raise the Version"), std::string::npos);
  EXPECT_EQ(store->ReadPolicyFiles({"demo", "1.0", "aa", 0})->map, "one");
}

// The attack: a policy name (from a hostile compiler's output) that climbs out of policies/.
TEST_F(StateStoreTest, RefusesPolicyNamesThatAreNotOneDirectory) {
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store);
  for (PolicyRecord bad : {PolicyRecord{"../../escape", "1.0", "aa", 0},
                           PolicyRecord{"..", "1.0", "aa", 0}, PolicyRecord{"demo", "..", "aa", 0},
                           PolicyRecord{"", "1.0", "aa", 0}, PolicyRecord{"a/b", "1.0", "aa", 0}}) {
    auto r = store->InstallPolicy(bad, Files("x"), false, {});
    ASSERT_FALSE(r) << bad.name << " " << bad.version;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.parent_path() / "escape"));
  EXPECT_TRUE(store->Policies()->empty());
}

TEST_F(StateStoreTest, ResourceLabelRoundTrip) {
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store);
  ResourceLabel label{"file:/img/a.img", LabelKind::kAcm, "demo", "res_Bank", {}};
  ASSERT_TRUE(store->AddResourceLabel(label));
  auto again = store->AddResourceLabel(label);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message,
            "'file:/img/a.img' is already labeled with 'ACM:demo:res_Bank'.");
  auto got = store->GetResourceLabel("file:/img/a.img");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, label);
  ASSERT_TRUE(store->RemoveResourceLabel("file:/img/a.img"));
  auto gone = store->RemoveResourceLabel("file:/img/a.img");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message, "Resource not labeled");
  EXPECT_FALSE(*store->GetResourceLabel("file:/img/a.img"));
}

TEST_F(StateStoreTest, ActivationAppliesResourceChangesAtomically) {
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->AddResourceLabel({"vnet:a", LabelKind::kAcm, "demo", "old", {}}));
  ASSERT_TRUE(store->InstallPolicy({"demo", "2.0", "dd", 0}, Files("x"), true,
                                   {{"vnet:a", LabelKind::kInvalidated, "demo", "old", {}}}));
  EXPECT_EQ((*store->GetResourceLabel("vnet:a"))->policy_type, LabelKind::kInvalidated);
}

TEST_F(StateStoreTest, StoresEachKindAsItsWord) {
  {
    auto store = StateStore::Open(dir_);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->AddResourceLabel({"vnet:a", LabelKind::kAcm, "demo", "A", {}}));
    ASSERT_TRUE(store->AddResourceLabel({"vnet:b", LabelKind::kAcm, "demo", "B", {}}));
    ASSERT_TRUE(store->ClearActivePolicy({{"vnet:b", LabelKind::kInvalidated, "demo", "B", {}}}));
  }
  auto db = Database::OpenForReading(dir_ / "labels.db");
  ASSERT_TRUE(db) << db.error().message;
  auto stmt = db->Prepare("SELECT resource, policy_type FROM resource_labels ORDER BY resource");
  ASSERT_TRUE(stmt);
  std::vector<std::string> rows;
  while (*stmt->Step()) rows.push_back(stmt->ColumnText(0) + "=" + stmt->ColumnText(1));
  EXPECT_EQ(rows, (std::vector<std::string>{"vnet:a=ACM", "vnet:b=INV_ACM"}));
}

// A row whose kind is neither word (a damaged or hand-edited labels.db) is refused by every read
// and named, never taken as a valid label or as no label at all.
TEST_F(StateStoreTest, RefusesALabelRowOfUnknownKindNamingTheResource) {
  const ObjectIdentity id_of_a{ObjectIdentity::Kind::kFile, 1, 2};
  {
    auto store = StateStore::Open(dir_);
    ASSERT_TRUE(store);
    ASSERT_TRUE(
        store->AddResourceLabel({"file:/img/a.img", LabelKind::kAcm, "demo", "A", id_of_a}));
    ASSERT_TRUE(store->AddResourceLabel({"vnet:ok", LabelKind::kAcm, "demo", "B", {}}));
  }
  {
    auto db = Database::Open(dir_ / "labels.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE(
        db->Exec("UPDATE resource_labels SET policy_type = 'acm' "
                 "WHERE resource = 'file:/img/a.img'"));
  }
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store) << store.error().message;
  auto expect_refused = [](const Error& e) {
    EXPECT_EQ(e.code, ErrorCode::kIo);
    EXPECT_NE(e.message.find("the label of resource 'file:/img/a.img'"), std::string::npos)
        << e.message;
    EXPECT_NE(e.message.find("unknown label kind 'acm'"), std::string::npos) << e.message;
  };
  auto got = store->GetResourceLabel("file:/img/a.img");
  ASSERT_FALSE(got);
  expect_refused(got.error());
  auto all = store->ResourceLabels();
  ASSERT_FALSE(all);
  expect_refused(all.error());
  auto other = store->FindOtherNameOf(id_of_a, "file:/other");
  ASSERT_FALSE(other);
  expect_refused(other.error());
  auto again = store->AddResourceLabel({"file:/img/a.img", LabelKind::kAcm, "demo", "B", {}});
  ASSERT_FALSE(again);
  expect_refused(again.error());
  EXPECT_TRUE(store->GetResourceLabel("vnet:ok"));  // other rows still read
  // The remedy the message names works: remove the row, label again.
  ASSERT_TRUE(store->RemoveResourceLabel("file:/img/a.img"));
  ASSERT_TRUE(store->AddResourceLabel({"file:/img/a.img", LabelKind::kAcm, "demo", "A", {}}));
  EXPECT_TRUE(store->ResourceLabels());
}

// A review finding: an identity that is neither empty nor one read as "bound to no object", and
// FindOtherNameOf compared identities as text, so a damaged row (or one spelled otherwise) hid
// a labeled object from the one-object-one-label check: a hard link of it took a second label.
TEST_F(StateStoreTest, RefusesALabelRowWithADamagedIdentityNamingTheResource) {
  const ObjectIdentity id_of_a{ObjectIdentity::Kind::kFile, 1, 2};
  const ObjectIdentity id_of_b{ObjectIdentity::Kind::kFile, 1, 3};
  {
    auto store = StateStore::Open(dir_);
    ASSERT_TRUE(store);
    ASSERT_TRUE(
        store->AddResourceLabel({"file:/img/a.img", LabelKind::kAcm, "demo", "A", id_of_a}));
    ASSERT_TRUE(
        store->AddResourceLabel({"file:/img/b.img", LabelKind::kAcm, "demo", "B", id_of_b}));
    ASSERT_TRUE(store->AddResourceLabel({"vnet:ok", LabelKind::kAcm, "demo", "B", {}}));
  }
  {
    auto db = Database::Open(dir_ / "labels.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->Exec(
        "UPDATE resource_labels SET identity = 'file:1:2x' WHERE resource = 'file:/img/a.img'"));
    ASSERT_TRUE(db->Exec(
        "UPDATE resource_labels SET identity = 'file:01:3' WHERE resource = 'file:/img/b.img'"));
  }
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store) << store.error().message;
  auto expect_refused = [](const Error& e) {
    EXPECT_EQ(e.code, ErrorCode::kIo);
    EXPECT_NE(e.message.find("the label of resource 'file:/img/a.img'"), std::string::npos)
        << e.message;
    EXPECT_NE(e.message.find("identity 'file:1:2x'"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("shype rmlabel res file:/img/a.img"), std::string::npos) << e.message;
  };
  auto got = store->GetResourceLabel("file:/img/a.img");
  ASSERT_FALSE(got);
  expect_refused(got.error());
  auto all = store->ResourceLabels();
  ASSERT_FALSE(all);
  expect_refused(all.error());
  auto other = store->FindOtherNameOf(id_of_a, "file:/img/a-link");
  ASSERT_FALSE(other);
  expect_refused(other.error());
  auto link = store->AddResourceLabel({"file:/img/a-link", LabelKind::kAcm, "demo", "B", id_of_a});
  ASSERT_FALSE(link) << "a second name of a labeled object took a second label";
  expect_refused(link.error());
  EXPECT_TRUE(store->GetResourceLabel("vnet:ok"));  // other rows still read
  // The remedy the message names works: remove the row, label again.
  ASSERT_TRUE(store->RemoveResourceLabel("file:/img/a.img"));
  ASSERT_TRUE(store->AddResourceLabel({"file:/img/a.img", LabelKind::kAcm, "demo", "A", id_of_a}));
  EXPECT_TRUE(store->ResourceLabels());
  // b's identity spelled with a leading zero is still b's object: its other names are found.
  auto b = store->GetResourceLabel("file:/img/b.img");
  ASSERT_TRUE(b && *b) << (b ? "no label" : b.error().message);
  EXPECT_EQ((*b)->identity, id_of_b);
  auto b_link = store->FindOtherNameOf(id_of_b, "file:/img/b-link");
  ASSERT_TRUE(b_link) << b_link.error().message;
  ASSERT_TRUE(*b_link);
  EXPECT_EQ((*b_link)->resource, "file:/img/b.img");
}

TEST_F(StateStoreTest, ConcurrentWritersFromManyProcessesLoseNothing) {
  ASSERT_TRUE(StateStore::Open(dir_));
  constexpr int kProcesses = 4;
  constexpr int kLabelsEach = 50;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto store = StateStore::Open(dir_);
      int failures = store ? 0 : 1;
      for (int i = 0; store && i < kLabelsEach; ++i) {
        auto r = store->AddResourceLabel(
            {fmt::format("vnet:p{}-{}", p, i), LabelKind::kAcm, "demo", fmt::format("l{}", i), {}});
        if (!r) ++failures;
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto store = StateStore::Open(dir_);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->ResourceLabels()->size(), static_cast<std::size_t>(kProcesses * kLabelsEach));
}

// Every entry under `dir` with its size, mtime and bytes ("absent" when `dir` is not there).
std::string DescribeTree(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return "absent";
  std::vector<std::string> lines;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    std::string line = e.path().string();
    if (e.is_regular_file()) {
      auto mtime = std::filesystem::last_write_time(e.path()).time_since_epoch().count();
      auto bytes = ReadFileBounded(e.path(), 1U << 20);
      line += fmt::format(" {} {} {}", e.file_size(), mtime,
                          bytes ? HexEncode(Sha1(*bytes)) : bytes.error().message);
    }
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return fmt::format("{}", fmt::join(lines, "\n"));
}

TEST_F(StateStoreTest, OpenForReadingAMissingDirectoryReadsAsFreshAndCreatesNothing) {
  auto store = StateStore::OpenForReading(dir_ / "state");
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_TRUE(store->read_only());
  auto active = store->ActivePolicy();
  ASSERT_TRUE(active);
  EXPECT_FALSE(*active);
  EXPECT_TRUE(store->Policies()->empty());
  EXPECT_TRUE(store->ResourceLabels()->empty());
  EXPECT_FALSE(*store->GetResourceLabel("file:/img/a.img"));
  EXPECT_FALSE(std::filesystem::exists(dir_));
}

TEST_F(StateStoreTest, OpenForReadingRefusesWritesAndStillCreatesNothing) {
  auto store = StateStore::OpenForReading(dir_);
  ASSERT_TRUE(store);
  auto label = store->AddResourceLabel({"vnet:a", LabelKind::kAcm, "demo", "l", {}});
  ASSERT_FALSE(label);
  EXPECT_EQ(label.error().code, ErrorCode::kInternal);
  EXPECT_NE(label.error().message.find("opened for reading only"), std::string::npos);
  EXPECT_FALSE(store->InstallPolicy({"demo", "1.0", "aa", 0}, Files("one"), true, {}));
  EXPECT_FALSE(store->ClearActivePolicy({}));
  EXPECT_FALSE(store->RemoveResourceLabel("vnet:a"));
  EXPECT_TRUE(store->ResourceLabels()->empty());
  EXPECT_FALSE(std::filesystem::exists(dir_));
}

TEST_F(StateStoreTest, OpenForReadingSeesTheStoredStateAndChangesNoFile) {
  {
    auto store = StateStore::Open(dir_);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->InstallPolicy({"demo", "1.0", "aa", 0}, Files("one"), true, {}));
    ASSERT_TRUE(store->AddResourceLabel({"vnet:a", LabelKind::kAcm, "demo", "l", {}}));
  }
  const std::string before = DescribeTree(dir_);
  {
    auto store = StateStore::OpenForReading(dir_);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ((*store->ActivePolicy())->version, "1.0");
    EXPECT_EQ((*store->GetResourceLabel("vnet:a"))->label, "l");
    EXPECT_FALSE(store->AddResourceLabel({"vnet:b", LabelKind::kAcm, "demo", "l", {}}));
  }
  EXPECT_EQ(DescribeTree(dir_), before);
}

TEST_F(StateStoreTest, OpenForReadingRefusesAMissingDatabaseOnceStateExisted) {
  {
    auto store = StateStore::Open(dir_);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->InstallPolicy({"demo", "1.0", "aa", 0}, Files("one"), true, {}));
  }
  std::filesystem::remove(dir_ / "labels.db");
  auto store = StateStore::OpenForReading(dir_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kIo);
  EXPECT_NE(store.error().message.find("labels.db' is missing"), std::string::npos)
      << store.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "labels.db"));
}

}  // namespace
}  // namespace shype::store
