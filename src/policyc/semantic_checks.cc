// SPDX-License-Identifier: Apache-2.0
//
// Semantic checks of a PolicyDocument, in a fixed order so the first error is deterministic:
// names, types, duplicates, conflict sets, bootstrap, label types, renames, size limits.
// Lookups use hash sets, so the checks are linear in the size of the policy.
#include "semantic_checks.h"

#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "shype/policy/label_map.h"
#include "shype/policyc/policy_error.h"

namespace shype::policyc {
namespace {

using Category = PolicyErrorCategory;
using NameSet = std::unordered_set<std::string_view>;

struct Checker {
  const PolicyDocument& doc;

  [[nodiscard]] tl::unexpected<Error> Refuse(Category category, std::uint32_t line,
                                             std::string_view element, std::string what) const {
    return Fail(MakePolicyError(category, doc.source_name, line, element, what));
  }
};

// Why `name` cannot be a label or type name, or empty if it can. Whitespace would split the
// map file's fields, ':' the "ACM:<policy>:<label>" label text.
std::string NameProblem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxNameBytes) return fmt::format("is longer than {} bytes", kMaxNameBytes);
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == ':') return "contains ':'";
    if (byte <= 0x20 || byte == 0x7f) return "contains whitespace or a control character";
  }
  return {};
}

// SECURITY: the policy name becomes a path (a.b.c → a/b/c-security_policy.xml); allowing '/',
// ".." or empty components would let a policy file escape the policies directory.
std::string PolicyNameProblem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxNameBytes) return fmt::format("is longer than {} bytes", kMaxNameBytes);
  for (const char c : name) {
    if (c == ':') return "contains ':'";
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == '+';
    if (!ok) return fmt::format("contains '{}'; use letters, digits, '_', '-', '+' and '.'", c);
  }
  if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string_view::npos) {
    return "has an empty dotted component (leading, trailing or double '.')";
  }
  return {};
}

Result<void> CheckPolicyNames(const Checker& c) {
  const auto& header = c.doc.header;
  if (auto why = PolicyNameProblem(header.name); !why.empty()) {
    return c.Refuse(Category::kBadPolicyName, header.name_line, "PolicyName",
                    fmt::format("policy name '{}' {}", header.name, why));
  }
  if (header.from_policy) {
    const auto& from = *header.from_policy;
    if (auto why = PolicyNameProblem(from.name); !why.empty()) {
      return c.Refuse(Category::kBadPolicyName, from.line, "FromPolicy",
                      fmt::format("FromPolicy name '{}' {}; name the policy this one replaces",
                                  from.name, why));
    }
  }
  return {};
}

Result<void> CheckTypeDecls(const Checker& c, const std::vector<TypeDecl>& types,
                            std::string_view component) {
  std::unordered_map<std::string_view, std::uint32_t> seen;
  for (const auto& type : types) {
    if (auto why = NameProblem(type.name); !why.empty() && why != "contains ':'") {
      return c.Refuse(Category::kPolicyInconsistent, type.line, "Type",
                      fmt::format("{} type '{}' {}", component, type.name, why));
    }
    if (auto [it, fresh] = seen.emplace(type.name, type.line); !fresh) {
      return c.Refuse(Category::kPolicyHasDuplicates, type.line, "Type",
                      fmt::format("{} type '{}' is declared twice (first on line {}); remove one",
                                  component, type.name, it->second));
    }
  }
  return {};
}

Result<void> CheckTypes(const Checker& c) {
  if (c.doc.ste_types.empty() && c.doc.chwall_types.empty()) {
    return c.Refuse(Category::kPolicyInconsistent, c.doc.header.name_line,
                    "SecurityPolicyDefinition",
                    "the policy declares no type; add <SimpleTypeEnforcement> and/or "
                    "<ChineseWall> types");
  }
  if (auto ste = CheckTypeDecls(c, c.doc.ste_types, "STE"); !ste) return ste;
  return CheckTypeDecls(c, c.doc.chwall_types, "CHWALL");
}

NameSet DeclaredNames(const std::vector<TypeDecl>& types) {
  NameSet names;
  for (const auto& type : types) names.insert(type.name);
  return names;
}

Result<void> CheckConflictSets(const Checker& c, const NameSet& chwall) {
  std::unordered_map<std::string_view, std::uint32_t> seen;
  for (const auto& set : c.doc.conflict_sets) {
    if (set.name.empty()) {
      return c.Refuse(Category::kBadConflictSet, set.line, "Conflict",
                      "the conflict set has no name; give it name=\"...\"");
    }
    if (auto [it, fresh] = seen.emplace(set.name, set.line); !fresh) {
      return c.Refuse(Category::kPolicyHasDuplicates, set.line, "Conflict",
                      fmt::format("conflict set '{}' is declared twice (first on line {}); "
                                  "rename or merge them",
                                  set.name, it->second));
    }
    if (set.types.empty()) {
      return c.Refuse(Category::kBadConflictSet, set.line, "Conflict",
                      fmt::format("conflict set '{}' lists no type; add the CHWALL types that "
                                  "must not run together",
                                  set.name));
    }
    for (const auto& type : set.types) {
      if (!chwall.contains(type)) {
        return c.Refuse(Category::kBadConflictSet, set.line, "Conflict",
                        fmt::format("conflict set '{}' uses type '{}', which is not declared in "
                                    "<ChineseWallTypes>; declare it or remove it from the set",
                                    set.name, type));
      }
    }
  }
  return {};
}

Result<void> CheckLabelNames(const Checker& c, const std::vector<LabelDecl>& labels,
                             std::string_view element) {
  std::unordered_map<std::string_view, std::uint32_t> seen;
  std::unordered_map<std::string_view, std::uint32_t> renamed_from;
  for (const auto& label : labels) {
    if (auto why = NameProblem(label.name); !why.empty()) {
      return c.Refuse(Category::kBadLabel, label.line, element,
                      fmt::format("label name '{}' {}", label.name, why));
    }
    if (auto [it, fresh] = seen.emplace(label.name, label.line); !fresh) {
      return c.Refuse(Category::kPolicyHasDuplicates, label.line, element,
                      fmt::format("label '{}' is defined twice (first on line {}); remove one",
                                  label.name, it->second));
    }
    if (!label.from) continue;
    if (auto why = NameProblem(*label.from); !why.empty()) {
      return c.Refuse(Category::kBadLabel, label.line, element,
                      fmt::format("from=\"{}\" of label '{}' {}", *label.from, label.name, why));
    }
    if (auto [it, fresh] = renamed_from.emplace(*label.from, label.line); !fresh) {
      return c.Refuse(Category::kBadLabel, label.line, element,
                      fmt::format("two labels are renamed from '{}' (first on line {}); an old "
                                  "label can have only one new name",
                                  *label.from, it->second));
    }
  }
  return {};
}

Result<void> CheckBootstrap(const Checker& c) {
  const auto& doc = c.doc;
  if (doc.vm_labels.empty()) {
    return c.Refuse(Category::kPolicyInconsistent, doc.bootstrap_line, "SecurityLabelTemplate",
                    "the policy has no <SubjectLabels>; add VM labels and name the management "
                    "domain's label in bootstrap=\"...\"");
  }
  if (doc.bootstrap == policy::kUnlabeledLabel) {
    return c.Refuse(Category::kPolicyInconsistent, doc.bootstrap_line, "SubjectLabels",
                    "the bootstrap label cannot be __UNLABELED__; name a real VM label");
  }
  for (const auto& label : doc.vm_labels) {
    if (label.name == doc.bootstrap) return {};
  }
  bool is_resource = false;
  for (const auto& label : doc.resource_labels) is_resource |= label.name == doc.bootstrap;
  return c.Refuse(Category::kPolicyInconsistent, doc.bootstrap_line, "SubjectLabels",
                  fmt::format("bootstrap label '{}' is not a VM label{}; define a "
                              "<VirtualMachineLabel> with that name or fix bootstrap=",
                              doc.bootstrap, is_resource ? " (it is a resource label)" : ""));
}

Result<void> CheckTypesDeclared(const Checker& c, const LabelDecl& label, std::string_view element,
                                const std::vector<std::string>& types, const NameSet& declared,
                                std::string_view component) {
  for (const auto& type : types) {
    if (declared.contains(type)) continue;
    return c.Refuse(Category::kBadLabel, label.line, element,
                    fmt::format("label '{}' uses {} type '{}', which is not declared; declare it "
                                "in the policy's {} types or remove it from the label",
                                label.name, component, type, component));
  }
  return {};
}

Result<void> CheckLabelTypes(const Checker& c, const NameSet& ste, const NameSet& chwall) {
  for (const auto& label : c.doc.vm_labels) {
    if (auto r = CheckTypesDeclared(c, label, "VirtualMachineLabel", label.ste_types, ste, "STE");
        !r) {
      return r;
    }
    if (auto r = CheckTypesDeclared(c, label, "VirtualMachineLabel", label.chwall_types, chwall,
                                    "CHWALL");
        !r) {
      return r;
    }
  }
  for (const auto& label : c.doc.resource_labels) {
    if (label.ste_types.empty()) {
      return c.Refuse(
          Category::kBadLabel, label.line, "ResourceLabel",
          fmt::format("resource label '{}' has no STE type; give it exactly one", label.name));
    }
    if (auto r = CheckTypesDeclared(c, label, "ResourceLabel", label.ste_types, ste, "STE"); !r) {
      return r;
    }
  }
  return {};
}

// Rows are 16-bit in an ssidref and columns are bounded by binary_policy.h.
Result<void> CheckLimits(const Checker& c) {
  const auto& doc = c.doc;
  const std::size_t rows = 1 + doc.vm_labels.size() + doc.resource_labels.size();
  if (rows > policy::kMaxSsidrefs) {
    return c.Refuse(Category::kPolicyInconsistent, doc.bootstrap_line, "SecurityLabelTemplate",
                    fmt::format("the policy has {} labels; at most {} fit in an ssidref", rows - 1,
                                policy::kMaxSsidrefs - 1));
  }
  if (doc.ste_types.size() > policy::kMaxTypes || doc.chwall_types.size() > policy::kMaxTypes) {
    return c.Refuse(Category::kPolicyInconsistent, doc.header.name_line, "SecurityPolicyDefinition",
                    fmt::format("a component declares more than {} types", policy::kMaxTypes));
  }
  return {};
}

}  // namespace

Result<void> CheckPolicyDocument(const PolicyDocument& doc) {
  const Checker c{doc};
  if (auto r = CheckPolicyNames(c); !r) return r;
  if (auto r = CheckTypes(c); !r) return r;
  const NameSet ste = DeclaredNames(doc.ste_types);
  const NameSet chwall = DeclaredNames(doc.chwall_types);
  if (auto r = CheckConflictSets(c, chwall); !r) return r;
  if (auto r = CheckLabelNames(c, doc.vm_labels, "VirtualMachineLabel"); !r) return r;
  if (auto r = CheckLabelNames(c, doc.resource_labels, "ResourceLabel"); !r) return r;
  if (auto r = CheckBootstrap(c); !r) return r;
  if (auto r = CheckLabelTypes(c, ste, chwall); !r) return r;
  return CheckLimits(c);
}

}  // namespace shype::policyc
