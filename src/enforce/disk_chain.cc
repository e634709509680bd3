// SPDX-License-Identifier: Apache-2.0
//
// qcow2 header inspection and backing-chain opening (format per the qcow2 specification:
// big-endian header, version 2 or 3, header extensions after the header).
#include "shype/enforce/disk_chain.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace shype::enforce {
namespace {

constexpr std::uint32_t kQcow2Magic = 0x514649fb;  // "QFI\xfb"
constexpr std::uint32_t kExtEnd = 0;
constexpr std::uint32_t kExtBackingFormat = 0xe2792aca;
constexpr std::uint32_t kExtExternalData = 0x44415441;
constexpr std::uint32_t kExtCrypto = 0x0537be77;
constexpr std::uint64_t kIncompatExternalData = 1ULL << 2;
constexpr std::size_t kHeaderBytes = 64 * 1024;  // header + extensions must fit in here

std::uint64_t Be(std::span<const std::uint8_t> b, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | b[at + i];
  return v;
}

Result<void> ParseExtensions(std::span<const std::uint8_t> h, std::size_t at, Qcow2Facts& facts) {
  for (int count = 0; count < 64; ++count) {
    if (at + 8 > h.size()) {
      return Fail(ErrorCode::kInvalidArgument, "qcow2 header extension at {} is truncated", at);
    }
    const auto type = static_cast<std::uint32_t>(Be(h, at, 4));
    const auto len = static_cast<std::size_t>(Be(h, at + 4, 4));
    if (type == kExtEnd) return {};
    if (len > h.size() - at - 8) {
      return Fail(ErrorCode::kInvalidArgument, "qcow2 header extension 0x{:08x} overruns", type);
    }
    if (type == kExtExternalData) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the qcow2 image names an external data file; such images are refused");
    }
    if (type == kExtCrypto) {
      return Fail(ErrorCode::kInvalidArgument, "encrypted qcow2 images are not supported");
    }
    if (type == kExtBackingFormat) {
      facts.backing_format.assign(reinterpret_cast<const char*>(h.data() + at + 8), len);
    }
    at += 8 + ((len + 7) & ~std::size_t{7});
  }
  return Fail(ErrorCode::kInvalidArgument, "qcow2 image has too many header extensions");
}

Result<std::vector<std::uint8_t>> ReadHead(const OpenedObject& object) {
  std::vector<std::uint8_t> head(kHeaderBytes);
  const ssize_t n = ::pread(object.fd.get(), head.data(), head.size(), 0);
  if (n < 0) {
    return Fail(ErrorCode::kIo, "cannot read '{}': {}", object.path, std::strerror(errno));
  }
  head.resize(static_cast<std::size_t>(n));
  return head;
}

Result<ImageFormat> BackingFormat(const Qcow2Facts& facts, const std::string& image) {
  if (facts.backing_format == "raw") return ImageFormat::kRaw;
  if (facts.backing_format == "qcow2") return ImageFormat::kQcow2;
  if (facts.backing_format.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "'{}' names backing file '{}' without its format; recreate it with qemu-img "
                "create -F raw|qcow2 (shype never probes formats)",
                image, facts.backing_file);
  }
  return Fail(ErrorCode::kInvalidArgument,
              "'{}' has a backing file of format '{}'; only raw and qcow2 are supported", image,
              facts.backing_format);
}

// The canonical path of a backing file named `name` in the image at `image`.
Result<std::string> BackingPath(const std::string& image, const std::string& name) {
  for (char c : name) {
    // SECURITY: 'json:{...}', 'nbd:', 'http:' ... are protocols QEMU would open itself.
    if (c == ':' || static_cast<unsigned char>(c) < 0x20) {
      return Fail(ErrorCode::kInvalidArgument,
                  "'{}' names backing file '{}': protocol, JSON and control characters are "
                  "refused; give a plain file path",
                  image, name);
    }
  }
  std::filesystem::path path(name);
  if (path.is_relative()) path = std::filesystem::path(image).parent_path() / path;
  std::error_code ec;
  auto canonical = std::filesystem::canonical(path, ec);
  if (ec) {
    return Fail(ErrorCode::kNotFound, "backing file '{}' of '{}': {}", path.string(), image,
                ec.message());
  }
  return canonical.string();
}

}  // namespace

Result<Qcow2Facts> ParseQcow2Header(std::span<const std::uint8_t> h) {
  if (h.size() < 72 || Be(h, 0, 4) != kQcow2Magic) {
    return Fail(ErrorCode::kInvalidArgument, "not a qcow2 image (no QFI\\xfb magic)");
  }
  const auto version = Be(h, 4, 4);
  if (version != 2 && version != 3) {
    return Fail(ErrorCode::kInvalidArgument, "qcow2 version {} is not supported", version);
  }
  if (Be(h, 32, 4) != 0) {
    return Fail(ErrorCode::kInvalidArgument, "encrypted qcow2 images are not supported");
  }
  std::size_t header_length = 72;
  if (version == 3) {
    if (h.size() < 104) return Fail(ErrorCode::kInvalidArgument, "qcow2 v3 header truncated");
    if ((Be(h, 72, 8) & kIncompatExternalData) != 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the qcow2 image uses an external data file; such images are refused");
    }
    header_length = static_cast<std::size_t>(Be(h, 100, 4));
    if (header_length < 104 || header_length > h.size()) {
      return Fail(ErrorCode::kInvalidArgument, "qcow2 header_length {} is invalid", header_length);
    }
  }
  Qcow2Facts facts;
  if (auto r = ParseExtensions(h, header_length, facts); !r) return Fail(r.error());
  const auto offset = Be(h, 8, 8);
  const auto size = Be(h, 16, 4);
  if (offset != 0) {
    // SECURITY: offset is 64 guest-controlled bits: compare without adding (no wrap-around).
    if (size == 0 || size > 1023 || offset > h.size() || size > h.size() - offset) {
      return Fail(ErrorCode::kInvalidArgument,
                  "qcow2 backing file name (offset {}, {} bytes) is invalid", offset, size);
    }
    facts.backing_file.assign(reinterpret_cast<const char*>(h.data() + offset), size);
  }
  return facts;
}

Result<std::vector<ChainLayer>> OpenDiskChain(const std::string& path, ImageFormat format,
                                              ObjectIdentity::Kind kind, bool writable) {
  std::vector<ChainLayer> chain;
  std::string next = path;
  for (;;) {
    const bool top = chain.empty();
    auto object = OpenObject(next, top ? kind : ObjectIdentity::Kind::kFile, top && writable);
    if (!object) {
      if (top) return Fail(object.error());
      return Fail(object.error().WithContext(fmt::format("backing file of '{}'", path)));
    }
    for (const ChainLayer& seen : chain) {
      if (seen.object.identity == object->identity) {
        return Fail(ErrorCode::kInvalidArgument, "disk '{}' has a backing-file loop at '{}'", path,
                    object->path);
      }
    }
    chain.push_back(ChainLayer{std::move(*object), format});
    if (format == ImageFormat::kRaw) return chain;
    const ChainLayer& layer = chain.back();
    auto head = ReadHead(layer.object);
    if (!head) return Fail(head.error());
    auto facts = ParseQcow2Header(*head);
    if (!facts) return Fail(facts.error().WithContext(layer.object.path));
    if (facts->backing_file.empty()) return chain;
    if (chain.size() == kMaxChainDepth) {
      return Fail(ErrorCode::kInvalidArgument, "disk '{}' has more than {} backing layers", path,
                  kMaxChainDepth);
    }
    auto backing_format = BackingFormat(*facts, layer.object.path);
    if (!backing_format) return Fail(backing_format.error());
    auto backing = BackingPath(layer.object.path, facts->backing_file);
    if (!backing) return Fail(backing.error());
    next = std::move(*backing);
    format = *backing_format;
  }
}

}  // namespace shype::enforce
