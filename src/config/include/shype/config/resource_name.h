// SPDX-License-Identifier: Apache-2.0
//
// Canonical resource names, as xm's unify_resname made them (spec-acm §6.2), plus shype's own
// `vnet:NAME` (a virtual switch) and `shm:NAME` (a shared-memory region). Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "shype/common/result.h"

namespace shype::config {

// Returns the canonical form of a resource spec:
//   phy:<path>        relative paths get "/dev/" prepended; with `must_exist` the path is resolved
//                     (symlinks followed) and must be a block device;
//   file:<path>       absolute path, resolved (realpath); with `must_exist` a regular file;
//   tap:<sub>:<path>  <sub> = [a-z0-9]+ (aio, qcow2, ...): the same file as file:<path>, so it
//                     unifies to file:<canonical path> (one file has one name and one label);
//   vlan:<n>          1..4095, written in decimal without leading zeros;
//   vnet:<name>, shm:<name>  name = [A-Za-z0-9_.-]{1,64}.
// Labeling uses must_exist=false (so `phy:ram0` is stored as `phy:/dev/ram0`); access checks use
// true. Relative file:/tap: paths are refused rather than resolved against the working directory.
// Errors: kInvalidArgument (malformed spec), kNotFound (must_exist and the path is missing).
[[nodiscard]] Result<std::string> UnifyResourceName(std::string_view spec, bool must_exist);

// True for names usable in vnet:/shm: resources and domain names: [A-Za-z0-9_.-]{1,64}, not
// starting with '.' or '-' (they become file names).
bool IsValidObjectName(std::string_view name);

}  // namespace shype::config
