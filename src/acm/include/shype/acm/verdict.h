// SPDX-License-Identifier: Apache-2.0
//
// Verdict is what the reference monitor answers: the decision, the rule that made it, a reason a
// person can read, and the parties (the running domains that block a Chinese Wall admission, the
// types on each side of an STE or authorization decision). Callers format it; they never
// re-derive a decision. Values only; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "shype/acm/types.h"
#include "shype/common/id.h"

namespace shype::acm {

// A running domain whose CHWALL type blocks the candidate's type.
struct ChineseWallConflict {
  std::string type;                // the candidate's blocked type
  DomainId domain{0};              // a running domain that blocks it
  std::string label;               // that domain's label
  std::vector<std::string> types;  // its types sharing a conflict set with `type`
  friend bool operator==(const ChineseWallConflict&, const ChineseWallConflict&) = default;
};

struct [[nodiscard]] Verdict {
  Decision decision = Decision::kDeny;
  // The hook whose rule decided: kAuthorization, kDomainCreate (Chinese Wall and the label's
  // rows), kResource (STE for a resource), kConflictSet (the Chinese Wall query).
  Hook rule = Hook::kDomainCreate;
  std::string reason;  // empty on permit
  // Chinese Wall: every running domain that blocks, with the types on both sides.
  std::vector<ChineseWallConflict> conflicts;
  // STE and authorization: the labels and the types on each side (subject first).
  std::string subject_label;
  std::vector<std::string> subject_types;
  std::string object_label;
  std::vector<std::string> object_types;
  std::string resource;  // the resource an STE denial is about, if any

  bool permitted() const { return decision == Decision::kPermit; }
};

}  // namespace shype::acm
