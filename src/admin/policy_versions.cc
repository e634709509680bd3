// SPDX-License-Identifier: Apache-2.0
//
// The stored policy versions: save one without activating it (the web editor's "save as a new
// version"), list them, read one back. Activation stays Set, the update transaction.
#include <fmt/format.h>

#include <string>

#include "shype/admin/policy_service.h"
#include "shype/common/file.h"

namespace shype::admin {

namespace {

bool SameRecord(const std::optional<store::PolicyRecord>& a, const store::PolicyRecord& b) {
  return a && a->name == b.name && a->version == b.version;
}

}  // namespace

Result<api::PolicySaveReply> PolicyService::Save(const std::string& xml,
                                                 const std::string& source) {
  auto compiler = Compiler();
  if (!compiler) return Fail(compiler.error());
  // SECURITY: compiled outside this process, as Set does; only the bounded readers' output is
  // stored, and only once the whole policy compiled.
  auto compiled = (*compiler)->Compile(xml, source);
  if (!compiled) return Fail(compiled.error());
  // The reserved name: the built-in DEFAULT policy is never stored, and a policy calling itself
  // DEFAULT is refused here as Set's update check refuses it.
  if (compiled->header.is_default || compiled->header.name == "DEFAULT") {
    return Fail(ErrorCode::kInvalidArgument,
                "{}: the DEFAULT policy is built in and is not stored; name the policy otherwise",
                source);
  }
  store::PolicyRecord record{compiled->header.name, compiled->header.version,
                             HexEncode(compiled->binary.xml_hash), 0};
  store::PolicyFiles files;
  files.xml.assign(xml.begin(), xml.end());
  files.binary = compiled->bytes;
  files.map = compiled->map_text;
  if (auto r = store_.InstallPolicy(record, files, /*activate=*/false, {}); !r) {
    return Fail(r.error().WithContext(source));
  }
  return api::PolicySaveReply{record.name, record.version, record.hash_hex};
}

Result<api::PolicyVersionsReply> PolicyService::Versions() {
  auto records = store_.Policies();
  if (!records) return Fail(records.error());
  auto active = store_.ActivePolicy();
  if (!active) return Fail(active.error());
  api::PolicyVersionsReply reply;
  for (const auto& r : *records) {
    reply.versions.push_back(
        {r.name, r.version, r.hash_hex, r.installed_at, SameRecord(*active, r), {}});
  }
  return reply;
}

Result<api::StoredPolicyVersion> PolicyService::Version(const std::string& name,
                                                        const std::string& version) {
  auto records = store_.Policies();
  if (!records) return Fail(records.error());
  std::string stored;
  for (const auto& r : *records) {
    if (r.name != name || r.version != version) {
      stored += fmt::format("{}{} {}", stored.empty() ? "" : ", ", r.name, r.version);
      continue;
    }
    auto files = store_.ReadPolicyFiles(r);
    if (!files) return Fail(files.error());
    // SECURITY: the XML handed out must be the one recorded (a state directory edited behind
    // the store's back is refused, as loading the active policy refuses it).
    if (HexEncode(Sha1(files->xml)) != r.hash_hex) {
      return Fail(ErrorCode::kIo,
                  "the stored XML of policy '{}' version {} is not the one recorded (SHA-1 {}); "
                  "save it again",
                  name, version, r.hash_hex);
    }
    auto active = store_.ActivePolicy();
    if (!active) return Fail(active.error());
    return api::StoredPolicyVersion{r.name,
                                    r.version,
                                    r.hash_hex,
                                    r.installed_at,
                                    SameRecord(*active, r),
                                    std::string(files->xml.begin(), files->xml.end())};
  }
  return Fail(ErrorCode::kNotFound, "no policy '{}' version {} is stored (stored: {})", name,
              version, stored.empty() ? "none" : stored);
}

}  // namespace shype::admin
