// SPDX-License-Identifier: Apache-2.0
//
// The policy update transaction's request and report (spec-acm §5.1-5.2, §5.4): a new policy is
// checked against every running domain and live sharing, then committed atomically or rejected
// with the full list of violations. Values only; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shype/acm/sharing.h"
#include "shype/common/id.h"
#include "shype/policy/binary_policy.h"
#include "shype/policy/label_map.h"

namespace shype::acm {

enum class UpdateMode : std::uint8_t {
  kCheckOnly,               // report violations, change nothing (the dry run)
  kCommit,                  // commit iff there is no violation
  kCommitRevokingSharings,  // revoke the sharings the new policy breaks, then commit iff nothing
                            // else is violated
};

// A policy name and version, as `<FromPolicy>` names the policy an update replaces.
struct PolicyRef {
  std::string name;
  policy::XmlVersion version;
  friend bool operator==(const PolicyRef&, const PolicyRef&) = default;
};

// A resource the state store labels under the active policy, as the store holds it.
struct StoredResourceLabel {
  std::string resource;  // e.g. "file:/images/bank.img"
  std::string label;     // its label in the active policy
  friend bool operator==(const StoredResourceLabel&, const StoredResourceLabel&) = default;
};

struct UpdateRequest {
  policy::BinaryPolicy binary;
  policy::LabelMap labels;
  std::optional<PolicyRef> from_policy;                       // the new policy's <FromPolicy>
  std::map<std::string, std::string> vm_label_renames;        // old name -> new (<Name from=..>)
  std::map<std::string, std::string> resource_label_renames;  // old name -> new
  UpdateMode mode = UpdateMode::kCheckOnly;
  // Skips the version rules (xm resetpolicy); every other check still applies.
  bool force_reset = false;
  // Every resource label the store keeps under the active policy. One the new policy does not
  // define (after renames) is invalidated (UpdateReport::invalidated), as Xen's INV_ACM; one a
  // running domain uses is a live sharing, checked as such (kResourceLabelMissing). Empty for a
  // reset, which invalidates them all.
  std::vector<StoredResourceLabel> stored_resource_labels = {};
};

enum class ViolationKind : std::uint16_t {
  kVersion,               // version / FromPolicy rules (spec §5.4 step 3)
  kCombination,           // the component combination would change
  kBadRename,             // a rename's old name is not a current label, or its new name is absent
  kLabelMissing,          // a running domain's label is not in the new policy
  kBootstrapLabel,        // Domain-0 would not carry the new policy's bootstrap label
  kChineseWallConflict,   // two running domains would be in conflict
  kSharingBroken,         // a live sharing's two sides would share no STE type
  kResourceLabelMissing,  // a live sharing's or a stored resource label is not in the new policy
  kUnauthorized,          // Domain-0 relabeled would no longer authorize a running guest
};

std::string_view ViolationKindName(ViolationKind kind);

struct Violation {
  ViolationKind kind = ViolationKind::kVersion;
  std::string message;               // names domains, labels and types; says what blocks
  std::vector<DomainId> domains;     // the domains involved, in creation order
  std::vector<std::string> types;    // the types involved (new policy names)
  std::optional<SharingId> sharing;  // for kSharingBroken / kResourceLabelMissing
  friend bool operator==(const Violation&, const Violation&) = default;
};

struct UpdateReport {
  bool committed = false;
  PolicySeqno seqno{0};               // the active seqno after the call
  std::vector<Violation> violations;  // all of them, in check order
  std::vector<Sharing> revoked;       // kCommitRevokingSharings: the caller tears these down
  // Stored resource labels the new policy does not define: on commit the caller records each as
  // INV_ACM:<active policy>:<label>, denied to every domain until relabeled.
  std::vector<StoredResourceLabel> invalidated;
  std::string domain0_label;  // the label Domain-0 carries once the update is committed
};

class PolicySnapshot;

// A policy update checked once — its snapshot built once — and committed later by Acm::Commit, so
// that the caller can record it durably in between (compile, plan, record, commit). Move-only.
class PreparedUpdate {
 public:
  PreparedUpdate(PreparedUpdate&&) = default;
  PreparedUpdate& operator=(PreparedUpdate&&) = default;
  PreparedUpdate(const PreparedUpdate&) = delete;
  PreparedUpdate& operator=(const PreparedUpdate&) = delete;
  ~PreparedUpdate();
  // What the check found (committed is false).
  const UpdateReport& report() const { return report_; }

 private:
  friend class Acm;
  PreparedUpdate() = default;
  std::shared_ptr<const PolicySnapshot> next_;
  UpdateRequest request_;  // its binary and labels are in next_
  UpdateReport report_;
  bool refused_ = false;  // a committing request the check refused (and audited)
};

}  // namespace shype::acm
