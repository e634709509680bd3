// SPDX-License-Identifier: Apache-2.0
//
// The replies of the API's operations as plain C++ values (docs/api.md "Endpoints"): the services
// return them, and the API's edge (shyped's dispatch, the CLI's offline backend) encodes them to
// JSON once, with api/reply_json.h. No JSON here, so services may include it. Values; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shype/common/id.h"
#include "shype/common/label_kind.h"

namespace shype::api {

// labels: the labels of the active policy of one type.
struct LabelsReply {
  std::string policy;
  std::string type;                 // dom, res or any
  std::vector<std::string> labels;  // sorted
  friend bool operator==(const LabelsReply&, const LabelsReply&) = default;
};

// resource.label.get / resource.label.add, and each row of resources.
struct ResourceLabelReply {
  std::string resource;  // the unified name (file:/abs/path, phy:/dev/x, vnet:N, shm:N)
  LabelKind policy_type = LabelKind::kAcm;  // kInvalidated once its policy was reset away
  std::string policy;                       // "*" for __INACCESSIBLE__
  std::string label;
  friend bool operator==(const ResourceLabelReply&, const ResourceLabelReply&) = default;
};

// resources: every resource label of the state directory.
struct ResourcesReply {
  std::vector<ResourceLabelReply> resources;
  friend bool operator==(const ResourcesReply&, const ResourcesReply&) = default;
};

// dry-run: the domain's label decision, one decision per resource, the Chinese Wall, and what
// else create would refuse.
struct DryRunDomain {
  std::string name;
  std::string label;
  std::string policy;
  Ssidref ssidref = kUnlabeledSsidref;
  bool permitted = false;
  std::string reason;
  friend bool operator==(const DryRunDomain&, const DryRunDomain&) = default;
};
struct DryRunResource {
  std::string resource;
  bool permitted = false;
  std::string res_label;
  std::string res_policy;
  LabelKind res_policy_type = LabelKind::kAcm;
  std::string reason;
  friend bool operator==(const DryRunResource&, const DryRunResource&) = default;
};
struct ChineseWallCheck {
  bool checked = false;    // false: not asked (offline, or the label was denied); see reason
  bool permitted = false;  // only meaningful (and only encoded) when checked
  std::string reason;
  friend bool operator==(const ChineseWallCheck&, const ChineseWallCheck&) = default;
};
struct DryRunReply {
  DryRunDomain domain;
  std::vector<DryRunResource> resources;
  ChineseWallCheck chinese_wall;
  bool passed = false;
  std::vector<std::string> refusals;   // what create would refuse besides the labels
  std::vector<std::string> unchecked;  // what could not be checked (offline: the host's part)
  friend bool operator==(const DryRunReply&, const DryRunReply&) = default;
};

// getpolicy's policy, and the policy of a setpolicy / resetpolicy.
struct PolicyInfo {
  std::string name;
  std::string version;    // "major.minor" as the XML wrote it
  std::string reference;  // hex SHA-1 of the XML
  bool is_default = false;
  std::string bootstrap;  // Domain-0's label
  std::int64_t installed_at = 0;
  bool loaded = false;  // enforced by a running shyped
  friend bool operator==(const PolicyInfo&, const PolicyInfo&) = default;
};

// One installed version, as getpolicy's history lists it.
struct PolicyVersion {
  std::string name;
  std::string version;
  std::string reference;
  std::int64_t installed_at = 0;
  friend bool operator==(const PolicyVersion&, const PolicyVersion&) = default;
};

// getpolicy: the enforced policy and every version installed, oldest first.
struct PolicyReply {
  PolicyInfo policy;
  std::vector<PolicyVersion> history;
  friend bool operator==(const PolicyReply&, const PolicyReply&) = default;
};

// policy.save: the version stored (not activated).
struct PolicySaveReply {
  std::string name;
  std::string version;
  std::string hash;  // hex SHA-1 of the XML (getpolicy's reference)
  friend bool operator==(const PolicySaveReply&, const PolicySaveReply&) = default;
};

// One stored policy version; policy.version.get adds its XML.
struct StoredPolicyVersion {
  std::string name;
  std::string version;
  std::string hash;
  std::int64_t installed_at = 0;
  bool active = false;  // the store's active policy
  std::string xml;      // policy.version.get only
  friend bool operator==(const StoredPolicyVersion&, const StoredPolicyVersion&) = default;
};

// policy.versions: every stored version, oldest first.
struct PolicyVersionsReply {
  std::vector<StoredPolicyVersion> versions;
  friend bool operator==(const PolicyVersionsReply&, const PolicyVersionsReply&) = default;
};

// A resource label a policy change rewrote (renamed, or invalidated: policy "*" / INV_ACM).
struct RelabeledResource {
  std::string resource;
  std::string policy;
  std::string label;
  LabelKind policy_type = LabelKind::kAcm;  // kInvalidated: INV_ACM:<policy>:<label>
  friend bool operator==(const RelabeledResource&, const RelabeledResource&) = default;
};

// setpolicy / resetpolicy: the policy updated to (or only checked), the resources relabeled.
struct PolicyChangeReply {
  bool check_only = false;
  PolicyInfo policy;
  std::vector<RelabeledResource> relabeled_resources;
  friend bool operator==(const PolicyChangeReply&, const PolicyChangeReply&) = default;
};

// dumppolicy: xm dumppolicy's text.
struct PolicyDumpReply {
  std::string text;
  friend bool operator==(const PolicyDumpReply&, const PolicyDumpReply&) = default;
};

}  // namespace shype::api
