// SPDX-License-Identifier: Apache-2.0
//
// The save image's header and files: what a restore reads is attacker-controlled bytes (an image
// can be edited or made by hand), so every malformed header is refused with what is wrong; a save
// never overwrites a file and leaves nothing behind when it fails.
#include "save_image.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace shype::daemon {
namespace {

SaveHeader Sample() {
  return SaveHeader{"bank1",     3,         "shype.demo", "Bank", "name = \"bank1\"\n",
                    "bank1.cfg", "running", 1700000000};
}

std::string Decode(std::string_view bytes) {
  std::size_t consumed = 0;
  auto header = DecodeSaveHeader(bytes, consumed);
  return header ? "ok" : header.error().message;
}

std::string WithHeader(const std::string& json) {
  return "SHYPE-SAVE 1 " + std::to_string(json.size()) + "\n" + json;
}

TEST(SaveImageTest, AHeaderReadsBackAndTheStreamFollowsIt) {
  auto bytes = EncodeSaveHeader(Sample());
  ASSERT_TRUE(bytes);
  std::size_t consumed = 0;
  auto header = DecodeSaveHeader(*bytes + "QEVM", consumed);
  ASSERT_TRUE(header) << header.error().message;
  EXPECT_EQ(consumed, bytes->size());
  EXPECT_EQ(header->name, "bank1");
  EXPECT_EQ(header->id, 3U);
  EXPECT_EQ(header->policy, "shype.demo");
  EXPECT_EQ(header->label, "Bank");
  EXPECT_EQ(header->config, "name = \"bank1\"\n");
  EXPECT_EQ(header->state, "running");
  EXPECT_EQ(header->saved_at, 1700000000);
}

TEST(SaveImageTest, AHeaderWithTextThatIsNotUtf8IsRefusedNotThrown) {
  SaveHeader header = Sample();
  header.config = "name = \"bank1\"\n# \xff\xfe\n";
  auto bytes = EncodeSaveHeader(header);
  ASSERT_FALSE(bytes);
  EXPECT_EQ(bytes.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bytes.error().message, "the image header of 'bank1' would hold text that is not UTF-8");
}

TEST(SaveImageTest, MalformedHeadersAreRefusedSayingWhatIsWrong) {
  EXPECT_EQ(Decode("QEVM\0\0\0\3"), "it is not a shype save image");
  EXPECT_EQ(Decode("SHYPE-SAVE 2 10\n{}"),
            "it is a save image of a version this shyped does not read");
  EXPECT_EQ(Decode("SHYPE-SAVE 1 \n{}"), "its first line does not give the header's size");
  EXPECT_EQ(Decode("SHYPE-SAVE 1 123456789\n{}"), "its first line does not give the header's size");
  EXPECT_EQ(Decode("SHYPE-SAVE 1 9999999\n{}"), "its header's size is not 1..2097152 bytes");
  EXPECT_EQ(Decode("SHYPE-SAVE 1 -1\n{}"), "its header's size is not 1..2097152 bytes");
  EXPECT_EQ(Decode("SHYPE-SAVE 1 40\n{}"), "it ends inside its header");
  EXPECT_EQ(Decode(WithHeader("{\"name\": ")), "its header is not valid JSON");
  EXPECT_EQ(Decode(WithHeader("[1]")), "its header is not a JSON object");
  nlohmann::json good = nlohmann::json::parse(
      EncodeSaveHeader(Sample())->substr(EncodeSaveHeader(Sample())->find('\n') + 1));
  auto with = [&](const char* key, const nlohmann::json& value) {
    nlohmann::json j = good;
    if (value.is_null()) {
      j.erase(key);
    } else {
      j[key] = value;
    }
    return Decode(WithHeader(j.dump()));
  };
  EXPECT_EQ(with("name", nullptr), "its header has no string 'name'");
  EXPECT_EQ(with("name", "../etc"), "its header names the domain '../etc', not a valid name");
  EXPECT_EQ(with("id", -1), "its header's 'id' is out of range");
  EXPECT_EQ(with("id", "3"), "its header has no integer 'id'");
  EXPECT_EQ(with("label", ""), "its header names no label (policy and label)");
  EXPECT_EQ(with("state", "crashed"), "its header's state 'crashed' is not running or paused");
  EXPECT_EQ(with("policy", std::string(5000, 'p')),
            "its header's 'policy' is longer than 4096 bytes");
  EXPECT_EQ(with("config", 7), "its header has no string 'config'");
  EXPECT_EQ(with("saved_at", 1.5), "its header has no integer 'saved_at'");
}

class SaveImageFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("shype-save-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(SaveImageFileTest, AnImageAppearsOnlyWhenCommittedAndOpensAtItsStream) {
  const auto path = dir_ / "bank1.save";
  {
    auto image = PendingImage::Create(path);
    ASSERT_TRUE(image) << image.error().message;
    ASSERT_TRUE(WriteSaveHeader(image->fd(), Sample()));
    ASSERT_EQ(::write(image->fd(), "QEVM-stream", 11), 11);
    EXPECT_FALSE(std::filesystem::exists(path));
    ASSERT_TRUE(image->Commit());
  }
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto opened = OpenSaveImage(path);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->header.label, "Bank");
  char rest[16] = {};
  EXPECT_EQ(::read(opened->fd.get(), rest, sizeof rest), 11);
  EXPECT_EQ(std::string(rest), "QEVM-stream");
}

TEST_F(SaveImageFileTest, AFailedSaveLeavesNothingAndAnExistingFileIsNeverOverwritten) {
  {
    auto image = PendingImage::Create(dir_ / "lost.save");
    ASSERT_TRUE(image);
    ASSERT_TRUE(WriteSaveHeader(image->fd(), Sample()));
  }  // not committed
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
  std::ofstream(dir_ / "precious") << "keep me";
  auto exists = PendingImage::Create(dir_ / "precious");
  ASSERT_FALSE(exists);
  EXPECT_EQ(exists.error().code, ErrorCode::kConflict);
  // A symlink at the name is a name that exists: the save does not follow it.
  std::filesystem::create_symlink(dir_ / "elsewhere", dir_ / "link");
  EXPECT_EQ(PendingImage::Create(dir_ / "link").error().code, ErrorCode::kConflict);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "elsewhere"));
  // A file that appears at the name while the save runs is not overwritten either.
  auto racing = PendingImage::Create(dir_ / "late");
  ASSERT_TRUE(racing);
  std::ofstream(dir_ / "late") << "first";
  EXPECT_EQ(racing->Commit().error().code, ErrorCode::kConflict);
  std::ifstream late(dir_ / "late");
  std::string text;
  late >> text;
  EXPECT_EQ(text, "first");
  EXPECT_EQ(PendingImage::Create("relative.save").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(PendingImage::Create(dir_ / "no" / "dir.save").error().code, ErrorCode::kNotFound);
}

TEST_F(SaveImageFileTest, ARestoreOpensOnlyARegularFileThatIsAnImage) {
  std::ofstream(dir_ / "config") << "name = \"x\"\n";
  auto not_image = OpenSaveImage(dir_ / "config");
  ASSERT_FALSE(not_image);
  EXPECT_EQ(not_image.error().message,
            (dir_ / "config").string() + ": it is not a shype save image");
  EXPECT_EQ(OpenSaveImage(dir_).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(OpenSaveImage(dir_ / "none").error().code, ErrorCode::kNotFound);
  std::filesystem::create_symlink(dir_ / "config", dir_ / "link");
  EXPECT_FALSE(OpenSaveImage(dir_ / "link"));
}

}  // namespace
}  // namespace shype::daemon
