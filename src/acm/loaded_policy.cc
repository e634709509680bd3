// SPDX-License-Identifier: Apache-2.0
//
// LoadedPolicy: the public view of a PolicySnapshot (loaded_policy.h).
#include "shype/acm/loaded_policy.h"

#include "policy_snapshot.h"

namespace shype::acm {

LoadedPolicy::LoadedPolicy(std::shared_ptr<const PolicySnapshot> snapshot)
    : snapshot_(std::move(snapshot)) {}

const std::string& LoadedPolicy::name() const { return snapshot_->name(); }
const policy::XmlVersion& LoadedPolicy::version() const { return snapshot_->binary().xml_version; }
PolicySeqno LoadedPolicy::seqno() const { return snapshot_->seqno(); }
const policy::LabelMap& LoadedPolicy::labels() const { return snapshot_->labels(); }
const policy::BinaryPolicy& LoadedPolicy::binary() const { return snapshot_->binary(); }
std::string_view LoadedPolicy::bootstrap_label() const {
  return snapshot_->labels().bootstrap_label();
}
Ssidref LoadedPolicy::bootstrap_ssidref() const {
  return snapshot_->VmSsidref(bootstrap_label()).value_or(kBootstrapSsidref);
}
bool LoadedPolicy::has_chwall() const { return snapshot_->has_chwall(); }
bool LoadedPolicy::has_ste() const { return snapshot_->has_ste(); }

std::optional<Ssidref> LoadedPolicy::VmSsidref(std::string_view label) const {
  return snapshot_->VmSsidref(label);
}
std::optional<Ssidref> LoadedPolicy::ResourceSsidref(std::string_view label) const {
  return snapshot_->ResourceSsidref(label);
}
std::optional<std::string> LoadedPolicy::VmLabelOf(Ssidref ref) const {
  return snapshot_->VmLabelOf(ref);
}

}  // namespace shype::acm
