// SPDX-License-Identifier: Apache-2.0
//
// BootImages are the directories boot images (kernel, initrd, firmware) come from: trusted,
// read-only objects outside the coalitions, given to shyped by the host's administrator
// (--image-dir). A domain config names an image inside one of them; nothing else boots.
// Thread-compatible; the directories stay open for the object's lifetime.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "shype/common/result.h"
#include "shype/common/unique_fd.h"
#include "shype/enforce/object.h"

namespace shype::enforce {

class BootImages {
 public:
  // Opens each directory (missing ones are skipped; the caller logs dirs()). Errors: kIo.
  [[nodiscard]] static Result<BootImages> Open(const std::vector<std::filesystem::path>& dirs);

  // Opens boot image `name` (`what` is "kernel", "ramdisk", ... for messages): an absolute path
  // inside one of the directories, or a relative name looked up in each directory in order.
  // SECURITY: opened beneath the directory's fd without following any symlink out of it, no
  // magic links, a regular file not on a pseudo file system. Errors: kPermissionDenied (outside
  // every image directory), kNotFound, kInvalidArgument, kIo; each names the image directories.
  [[nodiscard]] Result<OpenedObject> OpenImage(const std::string& what,
                                               const std::string& name) const;

  // The canonical paths of the directories in use.
  std::vector<std::string> dirs() const;

 private:
  struct Dir {
    std::string path;  // canonical
    UniqueFd fd;       // O_PATH | O_DIRECTORY
  };
  std::string DirList() const;
  std::vector<Dir> dirs_;
};

}  // namespace shype::enforce
