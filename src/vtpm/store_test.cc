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

}  // namespace
}  // namespace shype::vtpm
