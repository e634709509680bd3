// SPDX-License-Identifier: Apache-2.0
//
// Checking a domain configuration against the active policy: the domain's label (exists, of
// the active policy, authorized by Domain-0's label) and STE access to each resource it uses.
#include "shype/admin/domain_plan.h"

#include <algorithm>

#include "shype/config/resource_name.h"
#include "shype/policy/label_map.h"

namespace shype::admin {
namespace {

void ResolveLabel(const config::DomainConfig& config, const acm::Acm& monitor,
                  const acm::LoadedPolicy& snap, DomainPlan& plan) {
  const auto& map = snap.labels();
  auto label = config.GetLabel();
  if (!label->has_value()) {
    // As xm: an unlabeled domain runs as __UNLABELED__ only if the policy defines that label.
    if (!map.vm_labels.empty() && map.vm_labels[0] == policy::kUnlabeledLabel) {
      plan.label = std::string(policy::kUnlabeledLabel);
      plan.ssidref = kUnlabeledSsidref;
    } else {
      plan.reason = "Domain not labeled";
      return;
    }
  } else if ((*label)->policy != snap.name()) {
    plan.label = (*label)->label;
    plan.reason = fmt::format("Active policy '{}' different than what in VM's label ('{}').",
                              snap.name(), (*label)->policy);
    return;
  } else {
    plan.label = (*label)->label;
    auto ref = snap.VmSsidref(plan.label);
    if (!ref) {
      bool is_resource = std::find(map.resource_labels.begin(), map.resource_labels.end(),
                                   plan.label) != map.resource_labels.end();
      plan.reason = is_resource
                        ? fmt::format("'{}' is a resource label, not a VM label", plan.label)
                        : fmt::format("Label '{}' not found.", plan.label);
      return;
    }
    plan.ssidref = *ref;
  }
  // Authorization (Xen's hook 2), decided by the reference monitor.
  acm::Verdict authorized = monitor.QueryAuthorization(plan.ssidref);
  if (!authorized.permitted()) {
    plan.reason = authorized.reason;
    return;
  }
  plan.permitted = true;
}

// SECURITY: a label applies to the object it was bound to, and an object has one label: the
// opened object's identity must be the labeled one, and no other name may label it.
bool CheckIdentity(store::StateStore& store, const std::optional<store::ResourceLabel>& stored,
                   ResourceUse& use) {
  if (!use.object) return true;
  const ObjectIdentity& id = use.object->identity;
  if (stored && !stored->identity) {
    use.reason = fmt::format(
        "the label of '{}' is bound to no object (it was made before labels were bound to files); "
        "label it again: shype rmlabel res {} && shype addlabel {} res {}",
        use.path, use.resource, stored->label, use.resource);
    return false;
  }
  if (stored && stored->identity && *stored->identity != id) {
    use.reason = fmt::format(
        "'{}' is not the object that was labeled (it was {}, it is now {}); label it again",
        use.path, stored->identity->ToString(), id.ToString());
    return false;
  }
  auto other = store.FindOtherNameOf(id, use.resource);
  if (!other) {
    use.reason = other.error().message;
    return false;
  }
  if (*other) {
    use.reason =
        fmt::format("'{}' is another name (hard link or mount) of '{}', labeled {}:{}:{}", use.path,
                    (*other)->resource, (*other)->policy_type, (*other)->policy, (*other)->label);
    return false;
  }
  return true;
}

void Decide(const acm::Acm& monitor, const acm::LoadedPolicy& snap, store::StateStore& store,
            const DomainPlan& plan, ResourceUse& use) {
  auto stored = store.GetResourceLabel(use.resource);
  if (!stored) {
    use.reason = stored.error().message;
    return;
  }
  if (!CheckIdentity(store, *stored, use)) return;
  use.res_policy = snap.name();
  if (*stored) {
    use.res_policy_type = (*stored)->policy_type;
    use.res_policy = (*stored)->policy;
    use.res_label = (*stored)->label;
  }
  auto ssidref = ResourceSsidref(*stored, snap);
  if (!ssidref) {
    use.reason = ssidref.error().message;
    return;
  }
  use.res_ssidref = *ssidref;
  if (!plan.permitted) {
    use.reason = "the domain's label was denied";
    return;
  }
  acm::Verdict ste = monitor.QueryResource(plan.ssidref, {use.resource, *ssidref, use.kind});
  use.permitted = ste.permitted();
  use.reason = ste.reason;
}

enforce::ImageFormat FormatOf(const config::DiskSpec& disk) {
  // SECURITY: no probing: a disk without a format is raw, whatever its first bytes say.
  return disk.format.value_or(config::DiskFormat::kRaw) == config::DiskFormat::kQcow2
             ? enforce::ImageFormat::kQcow2
             : enforce::ImageFormat::kRaw;
}

ResourceUse DiskUse(const config::DiskSpec& disk, std::size_t index, std::string resource,
                    std::string path) {
  ResourceUse use;
  use.kind = acm::ResourceKind::kDisk;
  use.disk.emplace(disk);
  use.disk_index = index;
  use.format = FormatOf(disk);
  use.resource = std::move(resource);
  use.path = std::move(path);
  return use;
}

// Opens the disk and every file of its backing chain; each becomes a resource of the plan.
void PlanDisk(const acm::Acm& monitor, const acm::LoadedPolicy& snap, store::StateStore& store,
              std::size_t index, const config::DiskSpec& disk, DomainPlan& plan) {
  auto name = config::UnifyResourceName(disk.resource, /*must_exist=*/true);
  if (!name) {
    plan.resources.push_back(DiskUse(disk, index, disk.resource, ""));
    plan.resources.back().reason = name.error().message;
    return;
  }
  const bool block = name->rfind("phy:", 0) == 0;
  const std::string path = name->substr(name->find(':') + 1);
  auto chain = enforce::OpenDiskChain(
      path, FormatOf(disk),
      block ? ObjectIdentity::Kind::kBlockDevice : ObjectIdentity::Kind::kFile,
      disk.mode != config::DiskMode::kRead);
  if (!chain) {
    plan.resources.push_back(DiskUse(disk, index, *name, path));
    plan.resources.back().reason = chain.error().message;
    return;
  }
  for (std::size_t layer = 0; layer < chain->size(); ++layer) {
    enforce::ChainLayer& link = (*chain)[layer];
    plan.resources.push_back(DiskUse(disk, index,
                                     (layer == 0 && block ? "phy:" : "file:") + link.object.path,
                                     link.object.path));
    ResourceUse& each = plan.resources.back();
    each.layer = layer;
    each.format = link.format;
    each.object = std::make_shared<enforce::OpenedObject>(std::move(link.object));
    Decide(monitor, snap, store, plan, each);
  }
}

// Opens the kernel and ramdisk from the image directories. Unlabeled boot images are trusted
// objects outside the coalitions; a labeled one (a coalition's private kernel) must be permitted.
Result<void> PlanBootImages(const config::DomainConfig& config, const acm::Acm& monitor,
                            const acm::LoadedPolicy& snap, store::StateStore& store,
                            const enforce::BootImages& images, DomainPlan& plan) {
  for (const char* what : {"kernel", "ramdisk"}) {
    auto name = config.GetString(what);
    if (!name || !*name) continue;
    auto object = images.OpenImage(what, **name);
    if (!object) return Fail(object.error());
    auto shared = std::make_shared<enforce::OpenedObject>(std::move(*object));
    (std::string_view(what) == "kernel" ? plan.kernel : plan.ramdisk) = shared;
    ResourceUse use;
    use.kind = acm::ResourceKind::kDisk;
    use.resource = "file:" + shared->path;
    use.path = shared->path;
    use.object = shared;
    use.boot = what;
    auto stored = store.GetResourceLabel(use.resource);
    if (!stored) return Fail(stored.error());
    auto other = store.FindOtherNameOf(shared->identity, use.resource);
    if (!other) return Fail(other.error());
    if (!*stored && !*other) continue;  // an unlabeled, shared boot image
    Decide(monitor, snap, store, plan, use);
    plan.resources.push_back(std::move(use));
  }
  return {};
}

}  // namespace

bool DomainPlan::resources_permitted() const {
  return std::all_of(resources.begin(), resources.end(),
                     [](const ResourceUse& r) { return r.permitted; });
}

Result<Ssidref> ResourceSsidref(const std::optional<store::ResourceLabel>& stored,
                                const acm::LoadedPolicy& policy) {
  if (!stored) return kUnlabeledSsidref;  // an unlabeled resource: __UNLABELED__
  const store::ResourceLabel& label = *stored;
  if (label.policy_type != LabelKind::kAcm) {
    return Fail(ErrorCode::kPermissionDenied,
                "the resource's label {}:{}:{} was invalidated by a policy change",
                label.policy_type, label.policy, label.label);
  }
  if (label.label == policy::kInaccessibleLabel) {
    return Fail(ErrorCode::kPermissionDenied, "the resource is labeled __INACCESSIBLE__");
  }
  if (label.policy != policy.name()) {
    return Fail(ErrorCode::kPermissionDenied, "Resource's policy '{}' != active policy '{}'",
                label.policy, policy.name());
  }
  if (label.label == policy::kUnlabeledLabel) return kUnlabeledSsidref;
  auto ref = policy.ResourceSsidref(label.label);
  if (!ref) {
    return Fail(ErrorCode::kPermissionDenied, "resource label '{}' is not in policy '{}'",
                label.label, policy.name());
  }
  return *ref;
}

Result<ResourceUse> PlanNamedResource(const acm::Acm& monitor, store::StateStore& store,
                                      Ssidref ssidref, acm::ResourceKind kind,
                                      std::string resource) {
  const std::optional<acm::LoadedPolicy> snap = monitor.active_policy();
  if (!snap) return Fail(ErrorCode::kUnavailable, "the reference monitor has no policy loaded");
  DomainPlan domain;
  domain.permitted = true;  // a running domain: its label was admitted
  domain.ssidref = ssidref;
  ResourceUse use;
  use.kind = kind;
  use.resource = std::move(resource);
  Decide(monitor, *snap, store, domain, use);
  return use;
}

Result<std::vector<ResourceUse>> PlanDiskAttach(const acm::Acm& monitor, store::StateStore& store,
                                                Ssidref ssidref, const config::DiskSpec& disk) {
  const std::optional<acm::LoadedPolicy> snap = monitor.active_policy();
  if (!snap) return Fail(ErrorCode::kUnavailable, "the reference monitor has no policy loaded");
  DomainPlan domain;
  domain.permitted = true;  // a running domain: its label was admitted
  domain.ssidref = ssidref;
  PlanDisk(monitor, *snap, store, 0, disk, domain);
  return std::move(domain.resources);
}

Result<DomainPlan> PlanDomain(const config::DomainConfig& config, const acm::Acm& monitor,
                              store::StateStore& store, const enforce::BootImages* images) {
  if (auto v = config.Validate(); !v) return Fail(v.error());
  const std::optional<acm::LoadedPolicy> snap = monitor.active_policy();
  if (!snap) return Fail(ErrorCode::kUnavailable, "the reference monitor has no policy loaded");
  DomainPlan plan;
  plan.name = *config.Name();
  plan.policy = snap->name();
  ResolveLabel(config, monitor, *snap, plan);
  // Validate() passed, so every accessor below succeeds.
  const std::vector<config::DiskSpec> disks = *config.Disks();
  const std::vector<config::VifSpec> vifs = *config.Vifs();
  const std::vector<config::ShmSpec> shms = *config.Shms();
  for (std::size_t i = 0; i < disks.size(); ++i) PlanDisk(monitor, *snap, store, i, disks[i], plan);
  if (images != nullptr) {
    if (auto r = PlanBootImages(config, monitor, *snap, store, *images, plan); !r) {
      return Fail(r.error());
    }
  }
  auto add_named = [&](acm::ResourceKind kind, std::string resource) {
    ResourceUse use;
    use.kind = kind;
    use.resource = std::move(resource);
    Decide(monitor, *snap, store, plan, use);
    plan.resources.push_back(std::move(use));
  };
  for (const auto& vif : vifs) add_named(acm::ResourceKind::kNetwork, vif.resource());
  for (const auto& shm : shms) add_named(acm::ResourceKind::kSharedMemory, shm.resource());
  return plan;
}

}  // namespace shype::admin
