// SPDX-License-Identifier: Apache-2.0
//
// LoadedPolicy is a read-only handle on a policy the reference monitor has loaded: its name,
// version, label map and the ssidrefs of its labels, for plans, messages and records. It shares
// the ACM's immutable snapshot (cheap to copy) and exposes none of its decision tables.
// Thread-safe: immutable.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shype/common/id.h"
#include "shype/policy/binary_policy.h"
#include "shype/policy/label_map.h"

namespace shype::acm {

class PolicySnapshot;

class LoadedPolicy {
 public:
  const std::string& name() const;
  const policy::XmlVersion& version() const;
  PolicySeqno seqno() const;
  const policy::LabelMap& labels() const;
  // The binary as loaded (xm dumppolicy prints it; its xml_hash is the policy's reference).
  const policy::BinaryPolicy& binary() const;
  // Domain-0's label (empty under the NULL policy) and its ssidref (kBootstrapSsidref when the
  // label names no VM row).
  std::string_view bootstrap_label() const;
  Ssidref bootstrap_ssidref() const;
  bool has_chwall() const;
  bool has_ste() const;

  // The ssidref of a VM label, (row << 16) | row (0 for the unlabeled row; 0 under NULL).
  std::optional<Ssidref> VmSsidref(std::string_view label) const;
  // The ssidref of a resource label: its STE row in the STE half, 0 in the CHWALL half.
  std::optional<Ssidref> ResourceSsidref(std::string_view label) const;
  // The VM label of a VM ssidref whose active halves name the same VM row; nullopt otherwise.
  std::optional<std::string> VmLabelOf(Ssidref ref) const;

 private:
  friend class Acm;
  explicit LoadedPolicy(std::shared_ptr<const PolicySnapshot> snapshot);
  std::shared_ptr<const PolicySnapshot> snapshot_;  // never null
};

}  // namespace shype::acm
