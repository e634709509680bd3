// SPDX-License-Identifier: Apache-2.0
//
// Store: the vTPMs on disk under STATE/vtpm — per domain name a directory (0700) with swtpm's
// encrypted state (tpm/) and record.json (its uuid, the label it belongs to, its EK and AK
// certificates and AK public key), written last, once manufacture completed; the host state key
// (state.key, 0600, 256 random bits in hex, created on first use). Thread-compatible.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/result.h"

namespace shype::vtpm {

struct VtpmRecord {
  std::string domain;
  std::string uuid;
  std::string label;  // the one domain label it belongs to
  std::int64_t created = 0;
  std::string ek_certificate;  // PEM
  std::string ak_certificate;  // PEM
  std::string ak_public;       // PEM
};

class Store {
 public:
  explicit Store(std::filesystem::path root);
  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path TpmDir(std::string_view domain) const;
  // Errors: kInvalidArgument (a damaged record names its file), kIo.
  [[nodiscard]] Result<std::optional<VtpmRecord>> Find(std::string_view domain) const;
  [[nodiscard]] Result<std::vector<VtpmRecord>> List() const;
  // The host key file, created (0600) on first use. Errors: kIo.
  [[nodiscard]] Result<std::filesystem::path> KeyFile() const;
  // An empty state directory for a manufacture (what a crash half-way left is removed first).
  [[nodiscard]] Result<void> Prepare(std::string_view domain) const;
  [[nodiscard]] Result<void> Save(const VtpmRecord& record) const;
  // Secure removal: every file overwritten with zeros and synced, then unlinked; the directory
  // goes. Errors: kNotFound, kIo.
  [[nodiscard]] Result<void> Destroy(std::string_view domain) const;

 private:
  std::filesystem::path DomainDir(std::string_view domain) const;
  std::filesystem::path root_;
};

}  // namespace shype::vtpm
