// SPDX-License-Identifier: Apache-2.0
//
// DOM → PolicyDocument. The schema has already fixed the structure, so a missing required child
// here means the schema and this reader disagree: it is reported as BAD_XML, never assumed away.
#include "document_builder.h"

#include <charconv>

#include "shype/policyc/policy_error.h"
#include "xml_reader.h"

namespace shype::policyc {
namespace {

// Reads "major.minor" (the schema guarantees 1-8 digits, a dot, 1-8 digits).
Result<policy::XmlVersion> ParseVersion(const std::string& text, const xmlNode* node,
                                        std::string_view source) {
  policy::XmlVersion version;
  const auto dot = text.find('.');
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  bool ok = dot != std::string::npos;
  if (ok) {
    auto major = std::from_chars(begin, begin + dot, version.major);
    auto minor = std::from_chars(begin + dot + 1, end, version.minor);
    ok = major.ec == std::errc() && major.ptr == begin + dot && minor.ec == std::errc() &&
         minor.ptr == end;
  }
  if (!ok) {
    return Fail(
        MakePolicyError(PolicyErrorCategory::kBadXml, source, LineOf(node), "Version",
                        fmt::format("'{}' is not a version; write major.minor, e.g. 1.0", text)));
  }
  return version;
}

std::optional<std::string> OptionalText(const xmlNode* parent, std::string_view name) {
  const xmlNode* node = FirstChild(parent, name);
  if (node == nullptr) return std::nullopt;
  return TextOf(node);
}

Error Missing(std::string_view source, const xmlNode* parent, std::string_view child) {
  return MakePolicyError(PolicyErrorCategory::kBadXml, source, LineOf(parent), LocalName(parent),
                         fmt::format("missing <{}>; add it", child));
}

Result<PolicyReference> ReadReference(const xmlNode* node, std::string_view source) {
  const xmlNode* name = FirstChild(node, "PolicyName");
  const xmlNode* version = FirstChild(node, "Version");
  if (name == nullptr) return Fail(Missing(source, node, "PolicyName"));
  if (version == nullptr) return Fail(Missing(source, node, "Version"));
  PolicyReference ref{TextOf(name), TextOf(version), {}, LineOf(name)};
  auto numbers = ParseVersion(ref.version, version, source);
  if (!numbers) return Fail(numbers.error());
  ref.numbers = *numbers;
  return ref;
}

Result<PolicyHeaderInfo> ReadHeader(const xmlNode* header, std::string_view source) {
  auto ref = ReadReference(header, source);
  if (!ref) return Fail(ref.error());
  PolicyHeaderInfo info;
  info.name = ref->name;
  info.version = ref->version;
  info.numbers = ref->numbers;
  info.name_line = ref->line;
  info.url = OptionalText(header, "PolicyUrl");
  info.reference = OptionalText(header, "Reference");
  info.date = OptionalText(header, "Date");
  info.namespace_url = OptionalText(header, "NameSpaceUrl");
  if (const xmlNode* from = FirstChild(header, "FromPolicy"); from != nullptr) {
    auto from_ref = ReadReference(from, source);
    if (!from_ref) return Fail(from_ref.error());
    info.from_policy = std::move(*from_ref);
  }
  return info;
}

// Type names under `list` in document order, empty <Type/> dropped.
std::vector<std::string> TypeNames(const xmlNode* list) {
  std::vector<std::string> names;
  if (list == nullptr) return names;
  for (const xmlNode* type : ChildrenNamed(list, "Type")) {
    std::string name = TextOf(type);
    if (!name.empty()) names.push_back(std::move(name));
  }
  return names;
}

std::vector<TypeDecl> TypeDecls(const xmlNode* list) {
  std::vector<TypeDecl> decls;
  if (list == nullptr) return decls;
  for (const xmlNode* type : ChildrenNamed(list, "Type")) {
    std::string name = TextOf(type);
    if (!name.empty()) decls.push_back({std::move(name), LineOf(type)});
  }
  return decls;
}

void ReadChineseWall(const xmlNode* chwall, PolicyDocument& doc) {
  doc.chwall_types = TypeDecls(FirstChild(chwall, "ChineseWallTypes"));
  const xmlNode* sets = FirstChild(chwall, "ConflictSets");
  if (sets == nullptr) return;
  for (const xmlNode* conflict : ChildrenNamed(sets, "Conflict")) {
    doc.conflict_sets.push_back(
        {AttributeOf(conflict, "name").value_or(""), TypeNames(conflict), LineOf(conflict)});
  }
}

Result<LabelDecl> ReadLabel(const xmlNode* label, std::string_view source) {
  const xmlNode* name = FirstChild(label, "Name");
  if (name == nullptr) return Fail(Missing(source, label, "Name"));
  LabelDecl decl;
  decl.name = TextOf(name);
  decl.from = AttributeOf(name, "from");
  decl.ste_types = TypeNames(FirstChild(label, "SimpleTypeEnforcementTypes"));
  decl.chwall_types = TypeNames(FirstChild(label, "ChineseWallTypes"));
  decl.line = LineOf(name);
  return decl;
}

Result<void> ReadLabels(const xmlNode* labels, std::string_view element, PolicyDocument& doc,
                        std::vector<LabelDecl>& out) {
  for (const xmlNode* label : ChildrenNamed(labels, element)) {
    auto decl = ReadLabel(label, doc.source_name);
    if (!decl) return Fail(decl.error());
    out.push_back(std::move(*decl));
  }
  return {};
}

Result<void> ReadLabelTemplate(const xmlNode* root, PolicyDocument& doc) {
  const xmlNode* labels = FirstChild(root, "SecurityLabelTemplate");
  if (labels == nullptr) return Fail(Missing(doc.source_name, root, "SecurityLabelTemplate"));
  doc.bootstrap_line = LineOf(labels);
  if (const xmlNode* subjects = FirstChild(labels, "SubjectLabels"); subjects != nullptr) {
    doc.bootstrap = AttributeOf(subjects, "bootstrap").value_or("");
    doc.bootstrap_line = LineOf(subjects);
    auto vms = ReadLabels(subjects, "VirtualMachineLabel", doc, doc.vm_labels);
    if (!vms) return vms;
  }
  if (const xmlNode* objects = FirstChild(labels, "ObjectLabels"); objects != nullptr) {
    return ReadLabels(objects, "ResourceLabel", doc, doc.resource_labels);
  }
  return {};
}

}  // namespace

Result<PolicyDocument> BuildPolicyDocument(const xmlNode* root, std::string_view source_name) {
  PolicyDocument doc;
  doc.source_name = std::string(source_name);
  const xmlNode* header = FirstChild(root, "PolicyHeader");
  if (header == nullptr) return Fail(Missing(source_name, root, "PolicyHeader"));
  auto info = ReadHeader(header, source_name);
  if (!info) return Fail(info.error());
  doc.header = std::move(*info);
  if (const xmlNode* ste = FirstChild(root, "SimpleTypeEnforcement"); ste != nullptr) {
    doc.ste_types = TypeDecls(FirstChild(ste, "SimpleTypeEnforcementTypes"));
  }
  if (const xmlNode* chwall = FirstChild(root, "ChineseWall"); chwall != nullptr) {
    ReadChineseWall(chwall, doc);
  }
  if (auto labels = ReadLabelTemplate(root, doc); !labels) return Fail(labels.error());
  return doc;
}

}  // namespace shype::policyc
