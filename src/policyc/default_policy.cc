// SPDX-License-Identifier: Apache-2.0
//
// The DEFAULT policy text (spec §2.4), Xen's is_default_policy test, and the update version
// rule (spec §5.4 step 3).
#include "shype/policyc/default_policy.h"

#include <fmt/format.h>

#include "shype/policyc/policy_document.h"
#include "shype/policyc/policy_error.h"

namespace shype::policyc {
namespace {

constexpr std::string_view kSystemManagement = "SystemManagement";
constexpr std::string_view kUnlabeled = "__UNLABELED__";

// Escapes text for an XML attribute value.
std::string EscapeAttribute(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

template <class T, class Fn>
std::vector<std::string> Names(const std::vector<T>& items, Fn name_of) {
  std::vector<std::string> names;
  for (const auto& item : items) names.push_back(name_of(item));
  return names;
}

const LabelDecl* FindLabel(const std::vector<LabelDecl>& labels, std::string_view name) {
  for (const auto& label : labels) {
    if (label.name == name) return &label;
  }
  return nullptr;
}

}  // namespace

std::string DefaultPolicyXml(const std::optional<std::string>& dom0_from_label) {
  const std::string from =
      dom0_from_label ? fmt::format(" from=\"{}\"", EscapeAttribute(*dom0_from_label)) : "";
  return fmt::format(R"(<?xml version="1.0" encoding="UTF-8"?>
<SecurityPolicyDefinition xmlns="http://www.ibm.com">
  <PolicyHeader>
    <PolicyName>DEFAULT</PolicyName>
    <Version>1.0</Version>
  </PolicyHeader>
  <SimpleTypeEnforcement>
    <SimpleTypeEnforcementTypes>
      <Type>SystemManagement</Type>
      <Type>__UNLABELED__</Type>
    </SimpleTypeEnforcementTypes>
  </SimpleTypeEnforcement>
  <ChineseWall>
    <ChineseWallTypes>
      <Type>SystemManagement</Type>
    </ChineseWallTypes>
  </ChineseWall>
  <SecurityLabelTemplate>
    <SubjectLabels bootstrap="SystemManagement">
      <VirtualMachineLabel>
        <Name{}>SystemManagement</Name>
        <SimpleTypeEnforcementTypes>
          <Type>SystemManagement</Type>
          <Type>__UNLABELED__</Type>
        </SimpleTypeEnforcementTypes>
        <ChineseWallTypes>
          <Type/>
        </ChineseWallTypes>
      </VirtualMachineLabel>
      <VirtualMachineLabel>
        <Name>__UNLABELED__</Name>
        <SimpleTypeEnforcementTypes>
          <Type>__UNLABELED__</Type>
        </SimpleTypeEnforcementTypes>
        <ChineseWallTypes>
          <Type/>
        </ChineseWallTypes>
      </VirtualMachineLabel>
    </SubjectLabels>
    <ObjectLabels>
      <ResourceLabel>
        <Name>__UNLABELED__</Name>
        <SimpleTypeEnforcementTypes>
          <Type>__UNLABELED__</Type>
        </SimpleTypeEnforcementTypes>
      </ResourceLabel>
    </ObjectLabels>
  </SecurityLabelTemplate>
</SecurityPolicyDefinition>
)",
                     from);
}

bool IsDefaultPolicy(const PolicyDocument& doc) {
  const std::vector<std::string> both{std::string(kSystemManagement), std::string(kUnlabeled)};
  const std::vector<std::string> unlabeled_only{std::string(kUnlabeled)};
  const auto* mgmt = FindLabel(doc.vm_labels, kSystemManagement);
  const auto* unlabeled = FindLabel(doc.vm_labels, kUnlabeled);
  auto label_name = [](const LabelDecl& label) { return label.name; };
  auto type_name = [](const TypeDecl& type) { return type.name; };
  return doc.header.name == kDefaultPolicyName && doc.bootstrap == kSystemManagement &&
         Names(doc.vm_labels, label_name) == both && Names(doc.ste_types, type_name) == both &&
         mgmt != nullptr && mgmt->ste_types == both && unlabeled != nullptr &&
         unlabeled->ste_types == unlabeled_only &&
         Names(doc.resource_labels, label_name) == unlabeled_only &&
         Names(doc.chwall_types, type_name) ==
             std::vector<std::string>{std::string(kSystemManagement)};
}

}  // namespace shype::policyc
