// SPDX-License-Identifier: Apache-2.0
//
// A temporary directory for enforce's tests, removed with everything in it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace shype::enforce {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/shype-enforce-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = std::filesystem::canonical(pattern);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& bytes) {
    std::filesystem::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
    return (dir_ / name).string();
  }
  // Runs a shell command; true when it exits 0.
  static bool Sh(const std::string& command) { return std::system(command.c_str()) == 0; }
  std::filesystem::path dir_;
};

}  // namespace shype::enforce
