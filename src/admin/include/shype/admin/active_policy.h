// SPDX-License-Identifier: Apache-2.0
//
// The policy a host enforces, read from the state directory to load the reference monitor: the
// stored binary and map (what the monitor decides with) with the XML header's name and version.
// With nothing installed it is the built-in DEFAULT policy. Loading reads binaries through the
// bounded readers only: no XML is parsed here. Nothing keeps it: the ACM's policy is the one.
#pragma once

#include <string>

#include "shype/acm/acm.h"
#include "shype/policyc/compiled_policy.h"
#include "shype/store/state_store.h"

namespace shype::admin {

// Loads the active policy of `store` (the built-in DEFAULT when none is installed). The stored
// binary and map go through the bounded readers and must describe each other and the record
// (name, version); the stored XML must be the one the binary was compiled from (its SHA-1 is the
// binary's xml_hash). Any mismatch is reported (kPolicyInvalid), never ignored. Loaded from the
// store, `header` has name, version and numbers only, and the *_label_types lists are empty.
[[nodiscard]] Result<policyc::CompiledPolicy> LoadActivePolicy(store::StateStore& store);

// After the active policy was loaded into `acm` (nothing but Domain-0 runs): Domain-0 gets the
// label the store records for it (a live relabel survives a restart). Errors: kPolicyInvalid
// (the recorded label is not a VM label of the policy), the ACM's refusal.
[[nodiscard]] Result<void> RestoreDomain0Label(store::StateStore& store, acm::Acm& acm);

}  // namespace shype::admin
