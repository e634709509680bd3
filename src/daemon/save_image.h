// SPDX-License-Identifier: Apache-2.0
//
// A save image (`shype save` / `shype restore`): one file that records who the domain was — its
// name, its label and the policy it ran under, its configuration with that label written in —
// followed by QEMU's migration stream (its RAM and device state):
//
//   "SHYPE-SAVE 1 <header bytes>\n" <header: one JSON object> <QEMU's migration stream>
//
// A restore trusts none of it: the header is read bounded and checked field by field, and the
// domain it describes passes every check create makes, under the policy in force then.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "shype/common/result.h"
#include "shype/common/unique_fd.h"

namespace shype::daemon {

struct SaveHeader {
  std::string name;
  std::uint32_t id = 0;  // the domain's id when it was saved (a restore gets a new one)
  std::string policy;    // the policy it ran under
  std::string label;     // its VM label then (also written into `config`)
  std::string config;    // its configuration's text, labeled with `label`
  std::string config_path;
  std::string state;          // "running" or "paused" when it was saved
  std::int64_t saved_at = 0;  // Unix seconds
};

// The largest header written or read (kInvalidArgument beyond it).
inline constexpr std::size_t kMaxSaveHeaderBytes = 2U << 20;

// The first bytes of an image: the magic line and the header.
[[nodiscard]] Result<std::string> EncodeSaveHeader(const SaveHeader& header);
// Parses what EncodeSaveHeader wrote from the start of `bytes` (which may go on into the
// stream); `consumed` is set to the header's end. Errors (kInvalidArgument) say what is wrong
// and where: not an image, an unknown version, a bad or missing field.
[[nodiscard]] Result<SaveHeader> DecodeSaveHeader(std::string_view bytes, std::size_t& consumed);

// Writes the magic line and the header at `fd`'s offset. Errors: kInvalidArgument (too big), kIo.
[[nodiscard]] Result<void> WriteSaveHeader(int fd, const SaveHeader& header);

// An image being written: a file no one sees until Commit() gives it its name (O_TMPFILE in the
// target directory, or a hidden "<name>.partial" where that is unsupported), so that a failed
// save leaves nothing behind and an existing file is never overwritten.
class PendingImage {
 public:
  // Errors: kInvalidArgument (not an absolute path, no file name), kConflict (the file
  // exists), kNotFound (no such directory), kIo.
  [[nodiscard]] static Result<PendingImage> Create(const std::filesystem::path& path);
  PendingImage(PendingImage&&) noexcept = default;
  PendingImage& operator=(PendingImage&&) noexcept = default;
  ~PendingImage();

  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }
  // fsyncs the file and links it at its name. Errors: kConflict (a file appeared there), kIo.
  [[nodiscard]] Result<void> Commit();

 private:
  PendingImage() = default;
  UniqueFd dir_;
  UniqueFd fd_;
  std::filesystem::path path_;
  std::string partial_;  // the hidden name, when O_TMPFILE was not available
  bool committed_ = false;
};

// An image opened for a restore: its header, and the file positioned at QEMU's stream.
struct OpenedImage {
  SaveHeader header;
  UniqueFd fd;
};
// Opens a regular file (no symlink at the last component) and reads its header. Errors:
// kNotFound, kInvalidArgument (not a save image, naming the file), kIo.
[[nodiscard]] Result<OpenedImage> OpenSaveImage(const std::filesystem::path& path);

}  // namespace shype::daemon
