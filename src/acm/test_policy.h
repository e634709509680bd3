// SPDX-License-Identifier: Apache-2.0
//
// Test helper: builds a BinaryPolicy + LabelMap from a compact description (types, labels with
// type lists, conflict sets), with the Xen compiler's ordering (spec-acm §3.7): sorted type
// columns, row 0 unlabeled, row 1 bootstrap, other VM labels sorted, then sorted resource rows,
// conflict sets stable-sorted by name. Test-only; not part of shype::acm.
#pragma once

#include <string>
#include <vector>

#include "shype/policy/binary_policy.h"
#include "shype/policy/label_map.h"

namespace shype::acm::testing {

struct VmLabelSpec {
  std::string name;
  std::vector<std::string> ste;
  std::vector<std::string> chwall;
};
struct ResourceLabelSpec {
  std::string name;
  std::vector<std::string> ste;
};
struct ConflictSetSpec {
  std::string name;
  std::vector<std::string> types;
};

struct PolicySpec {
  std::string name = "test.policy";
  policy::XmlVersion version{1, 0};
  policy::PolicyCode primary = policy::PolicyCode::kChineseWall;
  policy::PolicyCode secondary = policy::PolicyCode::kSimpleTypeEnforcement;
  std::string bootstrap = "SystemManagement";
  std::vector<VmLabelSpec> vm_labels;
  std::vector<ResourceLabelSpec> resource_labels;
  std::vector<ConflictSetSpec> conflict_sets;
  // Declared types no label uses (columns all zero).
  std::vector<std::string> extra_ste_types;
  std::vector<std::string> extra_chwall_types;
};

struct BuiltPolicy {
  policy::BinaryPolicy binary;
  policy::LabelMap labels;
};

BuiltPolicy BuildPolicy(const PolicySpec& spec);

// Xen's tools/security/policies/example/client_v1 policy (spec-acm §3.10).
PolicySpec ClientV1Spec();

}  // namespace shype::acm::testing
