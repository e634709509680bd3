// SPDX-License-Identifier: Apache-2.0
//
// Store without swtpm: the key file's creation and checks, records, secure removal.
#include "shype/vtpm/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "shype/common/file.h"
#include "vtpm_test_util.h"

namespace shype::vtpm {
namespace {

TEST(StoreTest, TheKeyFileIsCreatedOnceWithMode0600) {
  const auto dir = testing::MakeTempDir("store");
  Store store(dir / "vtpm");
  auto key = store.KeyFile();
  ASSERT_TRUE(key) << key.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(key->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  auto first = ReadTextFileBounded(*key, 1024);
  auto again = store.KeyFile();
  ASSERT_TRUE(again);
  EXPECT_EQ(*ReadTextFileBounded(*again, 1024), *first);
  ::chmod(key->c_str(), 0644);
  auto loose = store.KeyFile();
  ASSERT_FALSE(loose);
  EXPECT_EQ(loose.error().code, ErrorCode::kPermissionDenied);
  std::filesystem::remove_all(dir);
}

TEST(StoreTest, RecordsRoundTripAndADamagedOneIsNamed) {
  const auto dir = testing::MakeTempDir("store");
  Store store(dir / "vtpm");
  ASSERT_TRUE(store.Prepare("bank"));
  VtpmRecord r{"bank", "u-1", "dom_bank", 42, "ek", "ak", "pub"};
  ASSERT_TRUE(store.Save(r));
  auto found = store.Find("bank");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->label, "dom_bank");
  auto list = store.List();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1U);
  ASSERT_TRUE(WriteFileAtomic(dir / "vtpm/domains/bank/record.json", std::string("{")));
  auto bad = store.Find("bank");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("record.json"), std::string::npos);
  ASSERT_TRUE(store.Destroy("bank"));
  EXPECT_FALSE(std::filesystem::exists(dir / "vtpm/domains/bank"));
  std::filesystem::remove_all(dir);
}

TEST(StoreTest, ASymlinkedDomainDirectoryIsNotFollowedByDestroy) {
  const auto dir = testing::MakeTempDir("store");
  Store store(dir / "vtpm");
  ASSERT_TRUE(store.Prepare("bank"));
  std::filesystem::create_directories(dir / "precious");
  ASSERT_TRUE(WriteFileAtomic(dir / "precious" / "keep", std::string("data")));
  std::filesystem::create_directory_symlink(dir / "precious", dir / "vtpm/domains/evil");
  EXPECT_FALSE(store.Destroy("evil"));
  EXPECT_EQ(*ReadTextFileBounded(dir / "precious" / "keep", 64), "data");
  std::filesystem::remove_all(dir);
}

TEST(StoreTest, PrepareRemovesWhatAnUnfinishedManufactureLeft) {
  const auto dir = testing::MakeTempDir("store");
  Store store(dir / "vtpm");
  ASSERT_TRUE(store.Prepare("bank"));
  ASSERT_TRUE(WriteFileAtomic(store.TpmDir("bank") / "tpm2-00.permall", std::string("half")));
  ASSERT_TRUE(store.Prepare("bank"));
  EXPECT_FALSE(std::filesystem::exists(store.TpmDir("bank") / "tpm2-00.permall"));
  EXPECT_TRUE(std::filesystem::is_directory(store.TpmDir("bank")));
  std::filesystem::remove_all(dir);
}

// SECURITY: the API's vtpm-destroy and attest name a domain as they like; a name is a path
// component under STATE/vtpm/domains, never a path ("/", "..", "../ca", "." shred what is not a
// vTPM, or all of them).
TEST(StoreTest, ANameThatIsNotADomainNameReachesNothingOutsideItsDirectory) {
  const auto dir = testing::MakeTempDir("store");
  Store store(dir / "vtpm");
  ASSERT_TRUE(store.Prepare("bank"));
  std::filesystem::create_directories(dir / "vtpm/ca");
  ASSERT_TRUE(WriteFileAtomic(dir / "vtpm/ca/ca-key.pem", std::string("the host CA key")));
  ASSERT_TRUE(WriteFileAtomic(dir / "outside", std::string("not a vTPM")));
  const std::vector<std::string> names{
      "../ca", "..", ".", "", "../../outside", (dir / "vtpm/ca").string(), "a/b", ".hidden"};
  for (const std::string& name : names) {
    auto destroyed = store.Destroy(name);
    ASSERT_FALSE(destroyed) << "'" << name << "'";
    EXPECT_EQ(destroyed.error().code, ErrorCode::kInvalidArgument) << "'" << name << "'";
    auto found = store.Find(name);
    EXPECT_FALSE(found) << "'" << name << "'";
    EXPECT_FALSE(store.Prepare(name)) << "'" << name << "'";
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "vtpm/ca/ca-key.pem"));
  EXPECT_EQ(*ReadTextFileBounded(dir / "outside", 64), "not a vTPM");
  EXPECT_TRUE(std::filesystem::is_directory(store.TpmDir("bank")));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shype::vtpm
