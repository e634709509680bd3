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

}  // namespace shype::api
