// SPDX-License-Identifier: Apache-2.0
//
// StateStore is shype's state directory: installed policies (XML, binary, map, per version),
// which one is active, and the resource-label database (SQLite, WAL, transactional). The CLI
// works on it offline; the daemon uses the same store. Writes are crash-safe: files are replaced
// atomically and database commits are durable once a call returns.
// One StateStore per thread; several processes may share a directory (SQLite serializes them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/label_kind.h"
#include "shype/common/object_identity.h"
#include "shype/common/result.h"
#include "shype/store/sqlite.h"

namespace shype::store {

struct ResourceLabel {
  std::string resource;  // unified name, e.g. "file:/img/a.img", "vnet:bank"
  // kInvalidated once a policy change invalidated it; stored as its word, "ACM" or "INV_ACM".
  LabelKind policy_type = LabelKind::kAcm;
  std::string policy;
  std::string label;
  // The object the label is bound to (file: device + inode, phy: device number), when it
  // existed at labeling time. A label is never applied to another object at the same path.
  std::optional<ObjectIdentity> identity;
  friend bool operator==(const ResourceLabel&, const ResourceLabel&) = default;
};

struct PolicyRecord {
  std::string name;
  std::string version;            // "major.minor" as written in the XML
  std::string hash_hex;           // SHA-1 of the XML file bytes
  std::int64_t installed_at = 0;  // Unix seconds
};

struct PolicyFiles {
  std::vector<std::uint8_t> xml;
  std::vector<std::uint8_t> binary;
  std::string map;
};

class StateStore {
 public:
  // Opens the state directory, creating it (mode 0700) and the database schema if needed.
  // Errors: kIo.
  [[nodiscard]] static Result<StateStore> Open(const std::filesystem::path& dir);
  // Opens the state directory for reading only: creates nothing (not the directory, labels.db,
  // policies/ or a schema) and changes nothing; the write methods below refuse (kInternal). A
  // directory or labels.db that does not exist yet reads as a fresh one (no policy installed, so
  // the DEFAULT policy applies; no history; no resource labels), from a private in-memory
  // database. Damaged state is refused as by Open. Errors: kIo.
  [[nodiscard]] static Result<StateStore> OpenForReading(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  bool read_only() const { return read_only_; }

  // Stores a policy's files under policies/<name>/<version>/ and records it; when `activate`,
  // makes it the active policy and applies `resource_changes` (the new labels of resources after
  // a policy change) in the same transaction. Errors: kConflict (same name+version with another
  // hash), kIo.
  // `domain0_label`: the label Domain-0 carries under it ("" = the bootstrap label).
  [[nodiscard]] Result<void> InstallPolicy(const PolicyRecord& record, const PolicyFiles& files,
                                           bool activate,
                                           const std::vector<ResourceLabel>& resource_changes,
                                           std::string_view domain0_label = {});
  [[nodiscard]] Result<std::optional<PolicyRecord>> ActivePolicy();
  // Every installed policy version, oldest first (the version history).
  [[nodiscard]] Result<std::vector<PolicyRecord>> Policies();
  [[nodiscard]] Result<PolicyFiles> ReadPolicyFiles(const PolicyRecord& record) const;
  // The label Domain-0 carries under the active policy, as relabeled live ("" = the bootstrap
  // label, and always under the DEFAULT policy).
  [[nodiscard]] Result<std::string> Domain0Label();
  // Records Domain-0's label under the active policy. Errors: kConflict (no policy installed:
  // the DEFAULT policy keeps Domain-0 on its bootstrap label), kIo.
  [[nodiscard]] Result<void> SetDomain0Label(std::string_view label);
  // Forgets the active policy (the DEFAULT policy applies again); history is kept.
  [[nodiscard]] Result<void> ClearActivePolicy(const std::vector<ResourceLabel>& resource_changes);

  // Labels a resource. Errors: kConflict "'R' is already labeled with 'ACM:P:L'.", or when the
  // object (label.identity) is already labeled under another name: one object, one label.
  [[nodiscard]] Result<void> AddResourceLabel(const ResourceLabel& label);
  // The label bound to `identity` under a name other than `except`, if any (a second name of a
  // labeled object: hard link, other mount). Reads every label bound to an object (compared as
  // identities): a damaged one is refused as below, as it might be this object's.
  [[nodiscard]] Result<std::optional<ResourceLabel>> FindOtherNameOf(const ObjectIdentity& identity,
                                                                     const std::string& except);
  // The reads of labels below refuse a row whose kind is neither "ACM" nor "INV_ACM", or whose
  // identity is neither empty (bound to no object) nor one (a damaged database), naming the
  // resource: kIo.
  [[nodiscard]] Result<std::optional<ResourceLabel>> GetResourceLabel(const std::string& resource);
  // Removes a resource's label. Errors: kNotFound "Resource not labeled".
  [[nodiscard]] Result<void> RemoveResourceLabel(const std::string& resource);
  // Every labeled resource, sorted by name.
  [[nodiscard]] Result<std::vector<ResourceLabel>> ResourceLabels();

 private:
  StateStore(std::filesystem::path dir, Database db, bool read_only)
      : dir_(std::move(dir)), db_(std::move(db)), read_only_(read_only) {}
  // A store of `dir` as a fresh directory reads, from an in-memory database.
  [[nodiscard]] static Result<StateStore> FreshForReading(const std::filesystem::path& dir);
  [[nodiscard]] Result<void> CheckWritable(std::string_view what) const;
  std::filesystem::path PolicyDir(const PolicyRecord& record) const;
  [[nodiscard]] Result<void> ApplyResourceChanges(const std::vector<ResourceLabel>& changes);

  std::filesystem::path dir_;
  Database db_;
  bool read_only_ = false;
};

}  // namespace shype::store
