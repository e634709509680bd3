// SPDX-License-Identifier: Apache-2.0
//
// Loading the active policy from the state directory.
#include "shype/admin/active_policy.h"

#include "shype/common/file.h"
#include "shype/policy/binary_policy.h"
#include "shype/policy/label_map.h"
#include "shype/policyc/default_policy.h"

namespace shype::admin {

Result<policyc::CompiledPolicy> CompileXml(std::string_view xml, std::string_view source) {
  auto doc = policyc::ParsePolicyXml(
      std::span(reinterpret_cast<const std::uint8_t*>(xml.data()), xml.size()), source);
  if (!doc) return Fail(doc.error());
  return policyc::CompilePolicy(*doc);
}

Result<std::shared_ptr<const acm::PolicySnapshot>> MakeSnapshot(
    const policyc::CompiledPolicy& compiled, PolicySeqno seqno) {
  return acm::PolicySnapshot::Create(compiled.binary, compiled.map, seqno);
}

std::string PolicyReference(const policyc::CompiledPolicy& compiled) {
  return HexEncode(compiled.binary.xml_hash);
}

Result<ActivePolicy> LoadActivePolicy(store::StateStore& store) {
  auto record = store.ActivePolicy();
  if (!record) return Fail(record.error());
  ActivePolicy active;
  if (!*record) {
    active.xml = policyc::DefaultPolicyXml();
    auto compiled = CompileXml(active.xml, "DEFAULT");
    if (!compiled) return Fail(compiled.error().WithContext("built-in DEFAULT policy"));
    active.compiled = std::move(*compiled);
  } else {
    active.record = **record;
    auto files = store.ReadPolicyFiles(**record);
    if (!files) return Fail(files.error());
    active.xml.assign(files->xml.begin(), files->xml.end());
    auto compiled =
        CompileXml(active.xml, fmt::format("{} {}", (*record)->name, (*record)->version));
    if (!compiled) return Fail(compiled.error());
    // SECURITY: the monitor decides with the stored binary; refuse one that is not what the
    // stored XML compiles to (a tampered or half-written state directory).
    auto binary = policy::ParseBinaryPolicy(files->binary);
    if (!binary) return Fail(binary.error().WithContext("stored binary policy"));
    if (*binary != compiled->binary) {
      return Fail(ErrorCode::kPolicyInvalid,
                  "the stored binary of policy '{}' version {} does not match its XML; reinstall "
                  "it with setpolicy",
                  (*record)->name, (*record)->version);
    }
    auto map = policy::ParseMapFile(files->map);
    if (!map) return Fail(map.error().WithContext("stored map file"));
    compiled->binary = std::move(*binary);
    compiled->map = std::move(*map);
    active.compiled = std::move(*compiled);
  }
  auto snapshot = MakeSnapshot(active.compiled, PolicySeqno{1});
  if (!snapshot) return Fail(snapshot.error());
  active.snapshot = std::move(*snapshot);
  return active;
}

}  // namespace shype::admin
