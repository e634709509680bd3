// SPDX-License-Identifier: Apache-2.0
//
// BootImages: opening kernels and initrds beneath the image directories only.
#include "shype/enforce/boot_images.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace shype::enforce {

Result<BootImages> BootImages::Open(const std::vector<std::filesystem::path>& dirs) {
  BootImages images;
  for (const auto& dir : dirs) {
    std::error_code ec;
    auto canonical = std::filesystem::canonical(dir, ec);
    if (ec) continue;
    UniqueFd fd(::open(canonical.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
      return Fail(ErrorCode::kIo, "cannot open image directory '{}': {}", canonical.string(),
                  std::strerror(errno));
    }
    images.dirs_.push_back(Dir{canonical.string(), std::move(fd)});
  }
  return images;
}

std::vector<std::string> BootImages::dirs() const {
  std::vector<std::string> out;
  for (const Dir& dir : dirs_) out.push_back(dir.path);
  return out;
}

std::string BootImages::DirList() const {
  if (dirs_.empty()) return "none (start shyped with --image-dir DIR)";
  std::string out;
  for (const Dir& dir : dirs_) out += (out.empty() ? "" : ", ") + dir.path;
  return out;
}

Result<OpenedObject> BootImages::OpenImage(const std::string& what, const std::string& name) const {
  if (name.empty()) return Fail(ErrorCode::kInvalidArgument, "{} is empty", what);
  if (name.front() == '/') {
    const std::string normal = std::filesystem::path(name).lexically_normal().string();
    for (const Dir& dir : dirs_) {
      if (normal.size() > dir.path.size() + 1 &&
          normal.compare(0, dir.path.size(), dir.path) == 0 && normal[dir.path.size()] == '/') {
        auto object = OpenBeneath(dir.fd.get(), dir.path, normal.substr(dir.path.size() + 1));
        if (!object) return Fail(object.error().WithContext(what));
        return object;
      }
    }
    return Fail(ErrorCode::kPermissionDenied,
                "{} '{}' is not in an image directory; boot images come only from: {}", what, name,
                DirList());
  }
  Error last{ErrorCode::kNotFound, ""};
  for (const Dir& dir : dirs_) {
    auto object = OpenBeneath(dir.fd.get(), dir.path, name);
    if (object) return object;
    last = object.error();
    if (last.code != ErrorCode::kNotFound) return Fail(last.WithContext(what));
  }
  return Fail(ErrorCode::kNotFound, "{} '{}' is not in any image directory ({})", what, name,
              DirList());
}

}  // namespace shype::enforce
