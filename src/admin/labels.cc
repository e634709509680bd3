// SPDX-License-Identifier: Apache-2.0
//
// Labels and resource labels: labels, addlabel/getlabel/rmlabel res, resources.
#include <algorithm>

#include "shype/admin/admin.h"
#include "shype/config/resource_name.h"
#include "shype/enforce/object.h"
#include "shype/policy/label_map.h"

namespace shype::admin {
namespace {

// The identity of the object a file:/phy: resource names (nullopt for vnet:, shm:, vlan:): the
// label is bound to it. Errors: kNotFound (nothing there), or the object may not be a resource
// (a pseudo file, a FIFO, a symlink in its path, ...).
Result<std::optional<ObjectIdentity>> IdentityOf(const std::string& resource) {
  const bool block = resource.rfind("phy:", 0) == 0;
  if (!block && resource.rfind("file:", 0) != 0) return std::optional<ObjectIdentity>();
  auto object = enforce::OpenObject(
      resource.substr(resource.find(':') + 1),
      block ? ObjectIdentity::Kind::kBlockDevice : ObjectIdentity::Kind::kFile, false);
  if (!object) {
    // SECURITY: a label is bound to an object; a label for a path with nothing there would
    // later apply to whatever appears (a hard link of another coalition's disk, say).
    if (object.error().code == ErrorCode::kNotFound) {
      return Fail(ErrorCode::kNotFound,
                  "cannot label '{}': it does not exist; a resource label is bound to the file "
                  "or device itself, so create it first, then label it",
                  resource);
    }
    return Fail(object.error().WithContext(fmt::format("cannot label '{}'", resource)));
  }
  return std::optional<ObjectIdentity>(object->identity);
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

api::ResourceLabelReply LabelReply(const store::ResourceLabel& r) {
  return {r.resource, r.policy_type, r.policy, r.label};
}

// Strips an optional "ACM:" prefix from a policy argument.
std::string PolicyArgument(std::string policy) {
  if (policy.rfind("ACM:", 0) == 0) policy.erase(0, 4);
  return policy;
}

}  // namespace

Result<api::LabelsReply> Admin::Labels(const std::string& type, const std::string& policy) {
  if (type != "dom" && type != "res" && type != "any") {
    return Fail(ErrorCode::kInvalidArgument, "unknown label type '{}': use dom, res or any", type);
  }
  auto active_or = Enforced();
  if (!active_or) return Fail(active_or.error());
  const acm::LoadedPolicy& active = *active_or;
  std::string name = PolicyArgument(policy);
  if (!name.empty() && name != active.name()) {
    return Fail(ErrorCode::kNotFound, "policy '{}' is not the active policy ('{}')", name,
                active.name());
  }
  std::vector<std::string> labels = active.labels().SortedLabelNames(type != "res", type != "dom");
  return api::LabelsReply{active.name(), type, std::move(labels)};
}

Result<std::string> Admin::FindLabeledResource(const std::string& spec) {
  auto name = config::UnifyResourceName(spec, /*must_exist=*/false);
  if (!name) return Fail(name.error());
  auto found = store_.GetResourceLabel(*name);
  if (!found) return Fail(found.error());
  if (*found) return *name;
  // As xm: a second try with the path resolved (symlinks followed), if it exists.
  auto resolved = config::UnifyResourceName(spec, /*must_exist=*/true);
  if (resolved && *resolved != *name) {
    auto again = store_.GetResourceLabel(*resolved);
    if (!again) return Fail(again.error());
    if (*again) return *resolved;
  }
  return Fail(ErrorCode::kNotFound, "Resource not labeled");
}

Result<void> Admin::CheckNotInUse(const std::string& resource) const {
  if (live_ == nullptr) return {};
  for (const auto& d : live_->Domains()) {
    if (Contains(d.resources, resource)) {
      return Fail(ErrorCode::kConflict,
                  "resource '{}' is in use by running domain '{}'; stop the domain first", resource,
                  d.name);
    }
  }
  return {};
}

Result<api::ResourceLabelReply> Admin::AddResourceLabel(const std::string& spec,
                                                        const std::string& label,
                                                        const std::string& policy_arg) {
  if (live_ == nullptr) {
    if (auto r = CheckNoUnmonitoredDomains("resource.label.add"); !r) return Fail(r.error());
  }
  auto resource = config::UnifyResourceName(spec, /*must_exist=*/false);
  if (!resource) return Fail(resource.error());
  auto active_or = Enforced();
  if (!active_or) return Fail(active_or.error());
  const acm::LoadedPolicy& active = *active_or;
  std::string policy = PolicyArgument(policy_arg);
  if (policy.empty()) policy = active.name();
  if (policy != active.name()) {
    return Fail(ErrorCode::kInvalidArgument,
                "policy '{}' is not the active policy '{}'; resources are labeled for the active "
                "policy",
                policy, active.name());
  }
  store::ResourceLabel record{*resource, LabelKind::kAcm, policy, label, {}};
  const policy::LabelMap& map = active.labels();
  if (label == policy::kInaccessibleLabel) {
    // __INACCESSIBLE__ belongs to no policy (xm stored it under policy "*").
    record.policy.assign(1, '*');
  } else if (!Contains(map.resource_labels, label)) {
    if (Contains(map.SortedLabelNames(true, false), label)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "'{}' is a VM label of policy '{}', not a resource label; list resource labels "
                  "with: shype labels type=res",
                  label, policy);
    }
    return Fail(ErrorCode::kNotFound, "Label '{}' not found in policy '{}'", label, policy);
  }
  if (auto r = CheckNotInUse(*resource); !r) return Fail(r.error());
  auto identity = IdentityOf(*resource);
  if (!identity) return Fail(identity.error());
  record.identity = *identity;
  if (auto r = store_.AddResourceLabel(record); !r) return Fail(r.error());
  return LabelReply(record);
}

Result<api::ResourceLabelReply> Admin::GetResourceLabel(const std::string& spec) {
  auto resource = FindLabeledResource(spec);
  if (!resource) return Fail(resource.error());
  auto found = store_.GetResourceLabel(*resource);
  if (!found) return Fail(found.error());
  if (!*found) return Fail(ErrorCode::kNotFound, "Resource not labeled");
  return LabelReply(**found);
}

Result<void> Admin::RemoveResourceLabel(const std::string& spec) {
  if (live_ == nullptr) {
    if (auto r = CheckNoUnmonitoredDomains("resource.label.remove"); !r) return Fail(r.error());
  }
  auto resource = FindLabeledResource(spec);
  if (!resource) return Fail(resource.error());
  if (auto r = CheckNotInUse(*resource); !r) return Fail(r.error());
  return store_.RemoveResourceLabel(*resource);
}

Result<api::ResourcesReply> Admin::Resources() {
  auto labels = store_.ResourceLabels();
  if (!labels) return Fail(labels.error());
  api::ResourcesReply reply;
  for (const auto& r : *labels) reply.resources.push_back(LabelReply(r));
  return reply;
}

}  // namespace shype::admin
