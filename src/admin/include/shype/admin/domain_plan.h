// SPDX-License-Identifier: Apache-2.0
//
// DomainPlan is a domain configuration checked against the active policy and the resource
// labels: the domain's label and ssidref, and every resource it would use with that resource's
// label, ssidref and the STE decision. Dry-run prints it; shyped creates a domain from it.
// SECURITY: disks (every file of a backing chain) and boot images are opened while planning and
// the plan holds the opened fds: the decision is on what was opened (identity + canonical path),
// and shyped hands exactly those fds to QEMU, so nothing can be swapped in between.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shype/acm/acm.h"
#include "shype/admin/active_policy.h"
#include "shype/common/label_kind.h"
#include "shype/config/domain_config.h"
#include "shype/enforce/boot_images.h"
#include "shype/enforce/disk_chain.h"

namespace shype::admin {

struct ResourceUse {
  std::string resource;  // unified name, e.g. "file:/img/a.img", "vnet:bank"
  acm::ResourceKind kind = acm::ResourceKind::kDisk;
  std::optional<config::DiskSpec> disk;  // for disks (each layer of its chain) and boot images
  std::string path;                      // for files: the canonical path that was checked
  // For files: the object opened and checked (shared by copies of the plan).
  std::shared_ptr<enforce::OpenedObject> object;
  enforce::ImageFormat format = enforce::ImageFormat::kRaw;
  std::size_t disk_index = 0;  // which disk of the config a layer belongs to
  std::size_t layer = 0;       // 0: the disk image itself; 1, 2, ...: its backing files
  std::string boot;            // "kernel" / "ramdisk" for a labeled boot image, else empty
  LabelKind res_policy_type = LabelKind::kAcm;
  std::string res_policy;
  std::string res_label = "__UNLABELED__";
  std::optional<Ssidref> res_ssidref;  // nullopt: not usable under the active policy
  bool permitted = false;
  std::string reason;  // why denied
};

struct DomainPlan {
  std::string name;
  std::string policy;
  std::string label;
  Ssidref ssidref = kInvalidSsidref;
  bool permitted = false;  // the label itself (exists, right policy, authorized)
  std::string reason;
  std::vector<ResourceUse> resources;
  // The boot images, opened from the image directories (when PlanDomain was given them).
  std::shared_ptr<enforce::OpenedObject> kernel;
  std::shared_ptr<enforce::OpenedObject> ramdisk;
  bool resources_permitted() const;
};

// Checks `config` against the reference monitor's policy and the resource labels in `store`;
// every decision (authorization, STE per resource) is the monitor's side-effect-free query, so
// planning audits nothing. Never fails on a policy denial (that is in the plan); errors only for
// an invalid config (kInvalidArgument), no policy (kUnavailable) or I/O.
// With `images`, the kernel and ramdisk are opened from the image directories too (an image that
// is not there is an error: kPermissionDenied / kNotFound); a labeled boot image becomes a
// resource of the plan that the domain must be permitted.
[[nodiscard]] Result<DomainPlan> PlanDomain(const config::DomainConfig& config,
                                            const acm::Acm& monitor, store::StateStore& store,
                                            const enforce::BootImages* images = nullptr);

// The ssidref a resource's stored label has under `policy` (no label: __UNLABELED__). A label of
// another policy, invalidated, __INACCESSIBLE__ or not in the policy: kPermissionDenied, why.
// The checks create makes for one named resource (vnet:NAME, shm:NAME) of a domain with label
// `ssidref`, for hotplug: its stored label under the active policy, then the ACM's STE query.
// Errors: kUnavailable (no policy loaded).
[[nodiscard]] Result<ResourceUse> PlanNamedResource(const acm::Acm& monitor,
                                                    store::StateStore& store, Ssidref ssidref,
                                                    acm::ResourceKind kind, std::string resource);

// The checks create makes for one disk of a running domain with label `ssidref`, for
// block-attach: the disk and every file of its backing chain opened (the uses hold the fds), each
// layer's stored label under the active policy, then the ACM's STE query; one use per layer, the
// top image first (a disk that cannot be opened: one use with the reason, not permitted).
// Errors: kUnavailable (no policy loaded), kInvalidArgument (a bad resource name).
[[nodiscard]] Result<std::vector<ResourceUse>> PlanDiskAttach(const acm::Acm& monitor,
                                                              store::StateStore& store,
                                                              Ssidref ssidref,
                                                              const config::DiskSpec& disk);

[[nodiscard]] Result<Ssidref> ResourceSsidref(const std::optional<store::ResourceLabel>& stored,
                                              const acm::LoadedPolicy& policy);

}  // namespace shype::admin
