// SPDX-License-Identifier: Apache-2.0
//
// ActivePolicy is the policy a host enforces, as loaded from the state directory: the stored
// binary and map (what the reference monitor decides with), the XML header (name, version,
// FromPolicy) and the label type lists. With nothing installed it is the built-in DEFAULT policy.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "shype/acm/policy_snapshot.h"
#include "shype/policyc/compiler.h"
#include "shype/store/state_store.h"

namespace shype::admin {

struct ActivePolicy {
  std::optional<store::PolicyRecord> record;  // nullopt: the built-in DEFAULT policy
  std::string xml;                            // the policy file's bytes (what the hash covers)
  policyc::CompiledPolicy compiled;
  std::shared_ptr<const acm::PolicySnapshot> snapshot;

  const std::string& name() const { return compiled.header.name; }
  bool is_default() const { return compiled.header.is_default; }
};

// Compiles policy XML (`source` names it in messages). Errors: kPolicyInvalid.
[[nodiscard]] Result<policyc::CompiledPolicy> CompileXml(std::string_view xml,
                                                         std::string_view source);
// Builds the snapshot the ACM decides with from a compiled policy's binary and map.
[[nodiscard]] Result<std::shared_ptr<const acm::PolicySnapshot>> MakeSnapshot(
    const policyc::CompiledPolicy& compiled, PolicySeqno seqno);

// Loads the active policy of `store` (DEFAULT when none is installed). The stored binary must be
// the one the stored XML compiles to; a mismatch is reported (kPolicyInvalid), never ignored.
[[nodiscard]] Result<ActivePolicy> LoadActivePolicy(store::StateStore& store);

// Hex of the 20-byte XML hash (the policy "reference").
std::string PolicyReference(const policyc::CompiledPolicy& compiled);

}  // namespace shype::admin
