// SPDX-License-Identifier: Apache-2.0
//
// Opening the objects a guest may reach (disk images, block devices, boot images) the only way
// shype decides on them: open first, without following any symlink, then take the identity
// (device + inode) and the canonical path from what was opened. Thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "shype/common/object_identity.h"
#include "shype/common/result.h"
#include "shype/common/unique_fd.h"

namespace shype::enforce {

struct OpenedObject {
  UniqueFd fd;
  ObjectIdentity identity;
  std::string path;  // canonical, read back from the fd (/proc/self/fd/N)
  bool writable = false;
  std::uint64_t size = 0;  // of a regular file
};

// Opens the absolute canonical `path` read-only or read-write. SECURITY: no symlink is followed
// in any component (openat2 RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), so a directory
// swapped for a symlink after the path was resolved makes the open fail instead of redirecting
// it; the object must be a regular file (kind kFile) or a block device (kBlockDevice), not a
// FIFO, socket or character device, and not on a pseudo file system (/proc, /sys, debugfs, ...);
// the path read back from the fd must be `path`. Errors: kNotFound, kPermissionDenied,
// kInvalidArgument (type, pseudo file system, symlink in the path), kIo.
[[nodiscard]] Result<OpenedObject> OpenObject(const std::string& path, ObjectIdentity::Kind kind,
                                              bool writable);

// Opens `relative` read-only beneath the directory `dir_fd` (named `dir` in messages), allowing
// symlinks only while they stay beneath it (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS); a regular
// file on a real file system. Errors as OpenObject.
[[nodiscard]] Result<OpenedObject> OpenBeneath(int dir_fd, const std::string& dir,
                                               const std::string& relative);

// Whether process `pid` has one of `objects` open or mapped: the kernel's view (every thread's
// fd table through /proc/PID/task/*/fd, a loop device counting as its backing file, and
// /proc/PID/maps), not what the process says. Best effort against a hostile process: an fd in
// flight in a socket or registered with io_uring is not visible. A process that is gone holds
// nothing. Errors: kIo when its threads cannot be listed (e.g. not permitted).
[[nodiscard]] Result<bool> ProcessHolds(int pid, std::span<const ObjectIdentity> objects);

}  // namespace shype::enforce
