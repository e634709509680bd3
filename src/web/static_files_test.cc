// SPDX-License-Identifier: Apache-2.0
//
// The UI bundle's files: traversal ("..", encoded %2e%2e and %2f), symlinks out of the bundle
// (and inside it), FIFOs and directories refused; then the files served, with their types.
#include "static_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace shype::web {
namespace {

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = std::filesystem::temp_directory_path() / fmt::format("shype-web-static-{}", ::getpid());
    std::filesystem::remove_all(base_);
    std::filesystem::create_directories(base_ / "dist" / "assets");
    Write(base_ / "dist" / "index.html", "<!doctype html>index");
    Write(base_ / "dist" / "assets" / "app.js", "console.log(1)");
    Write(base_ / "dist" / "assets" / "app.css", "body{}");
    Write(base_ / "secret.txt", "SECRET outside the bundle");
    auto fd = OpenDirectory(base_ / "dist");
    ASSERT_TRUE(fd) << fd.error().message;
    root_ = std::move(*fd);
  }
  void TearDown() override { std::filesystem::remove_all(base_); }
  static void Write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  Result<StaticFile> Get(std::string_view path) const {
    return ReadStaticFile(root_.get(), path, 1U << 20);
  }
  void ExpectRefused(std::string_view path) const {
    auto file = Get(path);
    EXPECT_FALSE(file) << path << " served: " << file->body;
  }

  std::filesystem::path base_;
  UniqueFd root_;
};

TEST_F(StaticFilesTest, RefusesDotDot) {
  ExpectRefused("/../secret.txt");
  ExpectRefused("/assets/../../secret.txt");
  ExpectRefused("/..");
}

TEST_F(StaticFilesTest, RefusesEncodedDotDotAndSlash) {
  ExpectRefused("/%2e%2e/secret.txt");
  ExpectRefused("/%2E%2E/secret.txt");
  ExpectRefused("/.%2e/secret.txt");
  ExpectRefused("/%2e%2e%2fsecret.txt");
  ExpectRefused("/assets%2f..%2f..%2fsecret.txt");
  ExpectRefused("/%2e%2e%5csecret.txt");
}

TEST_F(StaticFilesTest, RefusesMalformedEscapesAndNul) {
  ExpectRefused("/index.html%");
  ExpectRefused("/index.html%00");
}

TEST_F(StaticFilesTest, RefusesASymlinkOutOfTheBundle) {
  std::filesystem::create_symlink(base_ / "secret.txt", base_ / "dist" / "leak.txt");
  std::filesystem::create_symlink(base_, base_ / "dist" / "up");
  auto file = Get("/leak.txt");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
  EXPECT_NE(file.error().message.find("symbolic link"), std::string::npos);
  ExpectRefused("/up/secret.txt");
}

TEST_F(StaticFilesTest, RefusesASymlinkEvenInsideTheBundle) {
  std::filesystem::create_symlink("index.html", base_ / "dist" / "again.html");
  ExpectRefused("/again.html");
}

TEST_F(StaticFilesTest, RefusesHiddenFilesDirectoriesAndFifos) {
  Write(base_ / "dist" / ".env", "KEY=1");
  ExpectRefused("/.env");
  ExpectRefused("/assets");
  ASSERT_EQ(::mkfifo((base_ / "dist" / "pipe").c_str(), 0600), 0);
  ExpectRefused("/pipe");  // and does not hang: O_NONBLOCK
}

TEST_F(StaticFilesTest, RefusesAFileOverTheLimit) {
  Write(base_ / "dist" / "big.js", std::string(2000, 'x'));
  EXPECT_FALSE(ReadStaticFile(root_.get(), "/big.js", 1000));
}

TEST_F(StaticFilesTest, ServesIndexForTheRoot) {
  auto file = Get("/");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->body, "<!doctype html>index");
  EXPECT_EQ(file->content_type, "text/html; charset=utf-8");
}

TEST_F(StaticFilesTest, ServesAssetsWithTheirTypes) {
  auto js = Get("/assets/app.js");
  ASSERT_TRUE(js) << js.error().message;
  EXPECT_EQ(js->body, "console.log(1)");
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  auto css = Get("//assets//app.css");
  ASSERT_TRUE(css) << css.error().message;
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("logo.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("blob"), "application/octet-stream");
}

TEST_F(StaticFilesTest, ServesAnEscapedName) {
  Write(base_ / "dist" / "a b.txt", "spaced");
  auto file = Get("/a%20b.txt");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->body, "spaced");
}

}  // namespace
}  // namespace shype::web
