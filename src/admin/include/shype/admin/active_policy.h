// SPDX-License-Identifier: Apache-2.0
//
// ActivePolicy is the policy a host enforces, as loaded from the state directory: the stored
// binary and map (what the reference monitor decides with), the XML header (name, version,
// FromPolicy) and the XML for the record. With nothing installed it is the built-in DEFAULT
// policy. Loading reads binaries through the bounded readers only: no XML is parsed here.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "shype/acm/policy_snapshot.h"
#include "shype/policyc/compiled_policy.h"
#include "shype/store/state_store.h"

namespace shype::admin {

struct ActivePolicy {
  std::optional<store::PolicyRecord> record;  // nullopt: the built-in DEFAULT policy
  std::string xml;                            // the policy file's bytes (what the hash covers)
  // Loaded from the store, `header` has name, version and numbers only (FromPolicy and the
  // renames matter for a policy being installed, not for the installed one), and the
  // *_label_types lists are empty.
  policyc::CompiledPolicy compiled;
  std::shared_ptr<const acm::PolicySnapshot> snapshot;

  const std::string& name() const { return compiled.header.name; }
  bool is_default() const { return compiled.header.is_default; }
};

// Builds the snapshot the ACM decides with from a compiled policy's binary and map.
[[nodiscard]] Result<std::shared_ptr<const acm::PolicySnapshot>> MakeSnapshot(
    const policyc::CompiledPolicy& compiled, PolicySeqno seqno);

// Loads the active policy of `store` (the built-in DEFAULT when none is installed). The stored
// binary and map go through the bounded readers and must describe each other and the record
// (name, version); the stored XML must be the one the binary was compiled from (its SHA-1 is the
// binary's xml_hash). Any mismatch is reported (kPolicyInvalid), never ignored.
[[nodiscard]] Result<ActivePolicy> LoadActivePolicy(store::StateStore& store);

// Hex of the 20-byte XML hash (the policy "reference").
std::string PolicyReference(const policyc::CompiledPolicy& compiled);

}  // namespace shype::admin
