// SPDX-License-Identifier: Apache-2.0
//
// The one spelling of the label kinds ("ACM", "INV_ACM"), both ways.
#include "shype/common/label_kind.h"

namespace shype {

std::string_view LabelKindName(LabelKind kind) {
  switch (kind) {
    case LabelKind::kAcm:
      return "ACM";
    case LabelKind::kInvalidated:
      return "INV_ACM";
  }
  // SECURITY: a value outside the enum (memory damage) never prints as a valid label.
  return "INVALID";
}

Result<LabelKind> ParseLabelKind(std::string_view word) {
  for (LabelKind kind : {LabelKind::kAcm, LabelKind::kInvalidated}) {
    if (word == LabelKindName(kind)) return kind;
  }
  // SECURITY: fail closed: an unknown kind is never read as a valid (or invalidated) label.
  return Fail(ErrorCode::kInvalidArgument, "unknown label kind '{}' (expected '{}' or '{}')", word,
              LabelKindName(LabelKind::kAcm), LabelKindName(LabelKind::kInvalidated));
}

}  // namespace shype
