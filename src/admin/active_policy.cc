// SPDX-License-Identifier: Apache-2.0
//
// Loading the active policy from the state directory, without compiling anything.
#include "shype/admin/active_policy.h"

#include <algorithm>

#include "shype/common/file.h"
#include "shype/policy/binary_policy.h"
#include "shype/policy/label_map.h"
#include "shype/policyc/builtin_default.h"
#include "shype/policyc/compiled_package.h"

namespace shype::admin {
namespace {

// The stored policy's binary and map through the bounded readers, tied to the record and the
// stored XML.
Result<policyc::CompiledPolicy> ReadStored(const store::PolicyRecord& record,
                                           const store::PolicyFiles& files) {
  const std::string what = fmt::format("policy '{}' version {}", record.name, record.version);
  auto binary = policy::ParseBinaryPolicy(files.binary);
  if (!binary) return Fail(binary.error().WithContext("the stored binary of " + what));
  auto map = policy::ParseMapFile(files.map);
  if (!map) return Fail(map.error().WithContext("the stored map file of " + what));
  if (auto r = policy::CheckMapMatchesBinary(*map, *binary); !r) {
    return Fail(r.error().WithContext("the stored map and binary of " + what));
  }
  // SECURITY: the monitor decides with the stored binary; refuse one that is not the compiled
  // form of the stored XML (a tampered or half-written state directory): the binary carries the
  // SHA-1 of the XML bytes it was compiled from.
  const std::vector<std::uint8_t> hash = Sha1(files.xml);
  if (!std::equal(hash.begin(), hash.end(), binary->xml_hash.begin(), binary->xml_hash.end())) {
    return Fail(ErrorCode::kPolicyInvalid,
                "the stored binary of {} was not compiled from its stored XML (XML SHA-1 {}, the "
                "binary records {}); reinstall the policy with setpolicy",
                what, HexEncode(hash), HexEncode(binary->xml_hash));
  }
  const std::string version =
      fmt::format("{}.{}", binary->xml_version.major, binary->xml_version.minor);
  if (binary->name != record.name ||
      policyc::ParsePolicyVersion(record.version) != binary->xml_version ||
      record.hash_hex != HexEncode(binary->xml_hash)) {
    return Fail(
        ErrorCode::kPolicyInvalid,
        "the stored binary is policy '{}' version {} (reference {}), but the store records {} "
        "(reference {}); "
        "reinstall the policy with setpolicy",
        binary->name, version, HexEncode(binary->xml_hash), what, record.hash_hex);
  }
  policyc::CompiledPolicy out;
  out.bytes = policy::SerializeBinaryPolicy(*binary);
  out.binary = std::move(*binary);
  out.map = std::move(*map);
  out.map_text.assign(files.map.begin(), files.map.end());
  out.header.name = record.name;
  out.header.version = record.version;
  out.header.numbers = out.binary.xml_version;
  out.header.is_default = false;  // setpolicy refuses DEFAULT; a reset clears the record
  return out;
}

}  // namespace

Result<policyc::CompiledPolicy> LoadActivePolicy(store::StateStore& store) {
  auto record = store.ActivePolicy();
  if (!record) return Fail(record.error());
  if (!*record) return policyc::BuiltinDefaultPolicy();
  auto files = store.ReadPolicyFiles(**record);
  if (!files) return Fail(files.error());
  return ReadStored(**record, *files);
}

Result<void> RestoreDomain0Label(store::StateStore& store, acm::Acm& acm) {
  auto label = store.Domain0Label();
  if (!label) return Fail(label.error());
  auto active = acm.active_policy();
  if (label->empty() || !active || *label == active->bootstrap_label()) return {};
  auto ssidref = active->VmSsidref(*label);
  if (!ssidref) {
    return Fail(ErrorCode::kPolicyInvalid,
                "the state directory records Domain-0's label as '{}', which is not a VM label of "
                "the active policy '{}'",
                *label, active->name());
  }
  auto relabel = acm.RelabelDomain(kDomain0, *ssidref);
  if (!relabel) return Fail(relabel.error());
  if (!relabel->verdict.permitted()) {
    return Fail(ErrorCode::kPermissionDenied, "Domain-0's recorded label '{}' is refused: {}",
                *label, relabel->verdict.reason);
  }
  return {};
}

}  // namespace shype::admin
