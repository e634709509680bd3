// SPDX-License-Identifier: Apache-2.0
//
// Typed replies -> JSON, the field names of docs/api.md (nlohmann's objects keep keys sorted, so
// the bytes do not depend on the order fields are set in).
#include "shype/api/reply_json.h"

namespace shype::api {

Json ToJson(const LabelsReply& reply) {
  return Json{{"policy", reply.policy}, {"type", reply.type}, {"labels", reply.labels}};
}

Json ToJson(const ResourceLabelReply& reply) {
  return Json{{"resource", reply.resource},
              {"policy_type", LabelKindName(reply.policy_type)},
              {"policy", reply.policy},
              {"label", reply.label}};
}

Json ToJson(const ResourcesReply& reply) {
  Json list = Json::array();
  for (const auto& r : reply.resources) list.push_back(ToJson(r));
  return Json{{"resources", list}};
}

namespace {

Json ToJson(const DryRunDomain& d) {
  return Json{{"name", d.name},           {"label", d.label},
              {"policy", d.policy},       {"ssidref", d.ssidref.value()},
              {"permitted", d.permitted}, {"reason", d.reason}};
}

Json ToJson(const DryRunResource& r) {
  return Json{{"resource", r.resource},
              {"permitted", r.permitted},
              {"res_label", r.res_label},
              {"res_policy", r.res_policy},
              {"res_policy_type", LabelKindName(r.res_policy_type)},
              {"reason", r.reason}};
}

Json ToJson(const ChineseWallCheck& c) {
  if (!c.checked) return Json{{"checked", false}, {"reason", c.reason}};
  return Json{{"checked", true}, {"permitted", c.permitted}, {"reason", c.reason}};
}

}  // namespace

Json ToJson(const DryRunReply& reply) {
  Json out;
  out["domain"] = ToJson(reply.domain);
  out["resources"] = Json::array();
  for (const auto& r : reply.resources) out["resources"].push_back(ToJson(r));
  out["chinese_wall"] = ToJson(reply.chinese_wall);
  out["refusals"] = reply.refusals;
  out["unchecked"] = reply.unchecked;
  out["passed"] = reply.passed;
  return out;
}

namespace {

Json PolicyJson(const PolicyInfo& p) {
  return Json{{"name", p.name},
              {"version", p.version},
              {"reference", p.reference},
              {"type", LabelKindName(LabelKind::kAcm)},
              {"is_default", p.is_default},
              {"bootstrap", p.bootstrap},
              {"installed_at", p.installed_at},
              {"loaded", p.loaded}};
}

}  // namespace

Json ToJson(const PolicyReply& reply) {
  Json result = PolicyJson(reply.policy);
  result["history"] = Json::array();
  for (const auto& h : reply.history) {
    result["history"].push_back({{"name", h.name},
                                 {"version", h.version},
                                 {"reference", h.reference},
                                 {"installed_at", h.installed_at}});
  }
  return result;
}

Json ToJson(const PolicyChangeReply& reply) {
  Json result{{"check_only", reply.check_only}, {"policy", PolicyJson(reply.policy)}};
  result["relabeled_resources"] = Json::array();
  for (const auto& c : reply.relabeled_resources) {
    result["relabeled_resources"].push_back({{"resource", c.resource},
                                             {"type", LabelKindName(c.policy_type)},
                                             {"policy", c.policy},
                                             {"label", c.label}});
  }
  return result;
}

Json ToJson(const PolicyDumpReply& reply) { return Json{{"text", reply.text}}; }

Json ToJson(const PolicySaveReply& reply) {
  return Json{{"name", reply.name}, {"version", reply.version}, {"hash", reply.hash}};
}

namespace {
Json VersionJson(const StoredPolicyVersion& v) {
  return Json{{"name", v.name},
              {"version", v.version},
              {"hash", v.hash},
              {"installed_at", v.installed_at},
              {"active", v.active}};
}
}  // namespace

Json ToJson(const PolicyVersionsReply& reply) {
  Json list = Json::array();
  for (const auto& v : reply.versions) list.push_back(VersionJson(v));
  return Json{{"versions", list}};
}

Json ToJson(const StoredPolicyVersion& reply) {
  Json out = VersionJson(reply);
  out["xml"] = reply.xml;
  return out;
}

namespace {

Json ToJson(const AnalyzedPolicy& p) {
  return Json{{"name", p.name}, {"version", p.version}, {"source", p.source}};
}

Json ToJson(const NamedTypes& n) { return Json{{"name", n.name}, {"types", n.types}}; }

Json ToJson(const ShareTable& t) {
  return Json{{"rows", t.rows}, {"cols", t.cols}, {"types", t.types}};
}

Json ToJson(const LabelConflictReply& c) {
  Json sets = Json::array();
  for (const NamedTypes& s : c.sets) sets.push_back(ToJson(s));
  return Json{{"a", c.a}, {"b", c.b}, {"sets", sets}};
}

Json ToJson(const SharingPair& s) {
  Json out{{"a", s.a}, {"b", s.b}, {"types", s.types}};
  if (!s.kind.empty()) out["kind"] = s.kind;
  return out;
}

Json ToJson(const LabelRenameReply& r) { return Json{{"from", r.from}, {"to", r.to}}; }

Json ToJson(const InvalidatedResource& r) {
  return Json{{"resource", r.resource}, {"label", r.label}};
}

Json ToJson(const UpdateViolation& v) {
  return Json{{"kind", v.kind}, {"message", v.message}, {"domains", v.domains}};
}

template <class T>
Json List(const std::vector<T>& items) {
  Json out = Json::array();
  for (const T& item : items) out.push_back(ToJson(item));
  return out;
}

Json Labels(const std::vector<AnalyzedLabel>& labels, bool chwall) {
  Json out = Json::array();
  for (const AnalyzedLabel& l : labels) {
    Json label{{"name", l.name}, {"ste_types", l.ste_types}};
    if (chwall) label["chwall_types"] = l.chwall_types;
    out.push_back(std::move(label));
  }
  return out;
}

}  // namespace

Json ToJson(const PolicyAnalysisReply& r) {
  Json domains = Json::array();
  for (const RunningDomainLabel& d : r.running_domains) {
    domains.push_back({{"name", d.name}, {"id", d.id}, {"label", d.label}});
  }
  return Json{{"policy", ToJson(r.policy)},
              {"ste_types", r.ste_types},
              {"chwall_types", r.chwall_types},
              {"conflict_sets", List(r.conflict_sets)},
              {"vm_labels", Labels(r.vm_labels, true)},
              {"resource_labels", Labels(r.resource_labels, false)},
              {"vm_matrix", ToJson(r.vm_matrix)},
              {"resource_matrix", ToJson(r.resource_matrix)},
              {"conflicts", List(r.conflicts)},
              {"reach_nothing", r.reach_nothing},
              {"reach_everything", r.reach_everything},
              {"unused_ste_types", r.unused_ste_types},
              {"unused_chwall_types", r.unused_chwall_types},
              {"running", {{"domains", domains}, {"sharing", List(r.running_sharing)}}}};
}

Json ToJson(const PolicyDiffReply& r) {
  return Json{
      {"old", ToJson(r.old_policy)},
      {"new", ToJson(r.new_policy)},
      {"vm_renames", List(r.vm_renames)},
      {"resource_renames", List(r.resource_renames)},
      {"vm_labels_added", r.vm_labels_added},
      {"vm_labels_removed", r.vm_labels_removed},
      {"resource_labels_added", r.resource_labels_added},
      {"resource_labels_removed", r.resource_labels_removed},
      {"sharing_gained", List(r.sharing_gained)},
      {"sharing_lost", List(r.sharing_lost)},
      {"conflicts_added", List(r.conflicts_added)},
      {"conflicts_dropped", List(r.conflicts_dropped)},
      {"invalidated_resources", List(r.invalidated_resources)},
      {"dry_run", {{"accepted", r.dry_run.accepted}, {"violations", List(r.dry_run.violations)}}}};
}

}  // namespace shype::api
