// SPDX-License-Identifier: Apache-2.0
//
// A disk's chain of image files, opened by shype itself: the image and, for qcow2, every backing
// file its header names, each opened without symlinks and described by identity and canonical
// path, so each can be checked against the domain's label and passed to QEMU as an fd with the
// chain given explicitly. Thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "shype/common/result.h"
#include "shype/enforce/object.h"

namespace shype::enforce {

enum class ImageFormat : std::uint8_t { kRaw, kQcow2 };

struct ChainLayer {
  OpenedObject object;
  ImageFormat format = ImageFormat::kRaw;
};

inline constexpr std::size_t kMaxChainDepth = 8;

// What a qcow2 header says about other files. Exposed for tests and fuzzing.
struct Qcow2Facts {
  std::string backing_file;    // empty: no backing file
  std::string backing_format;  // from the backing-format header extension; empty if absent
};

// Parses a qcow2 header (the first bytes of the image, at least its header and extensions).
// SECURITY: refuses what would make QEMU open a file shype did not open: an external data file
// (incompatible feature bit or header extension) and encryption (needs secrets, and LUKS headers
// are not inspected). Errors: kInvalidArgument naming the field.
[[nodiscard]] Result<Qcow2Facts> ParseQcow2Header(std::span<const std::uint8_t> header);

// Opens the disk at canonical `path` with explicit `format` (there is no probing): layer 0 is
// the image (read-write if `writable`), then each backing file, read-only, resolved relative to
// the directory of the image that names it. Refused: a backing name that is a protocol or JSON
// ('json:', 'nbd:' ... any ':'), a backing file without a recorded format or of a format other
// than raw/qcow2, a loop, more than kMaxChainDepth layers. Errors: kInvalidArgument, kNotFound,
// kPermissionDenied, kIo, each naming the layer.
[[nodiscard]] Result<std::vector<ChainLayer>> OpenDiskChain(const std::string& path,
                                                            ImageFormat format,
                                                            ObjectIdentity::Kind kind,
                                                            bool writable);

}  // namespace shype::enforce
