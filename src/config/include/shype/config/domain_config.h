// SPDX-License-Identifier: Apache-2.0
//
// DomainConfig is a domain configuration file in xl.cfg syntax: parsed settings with typed,
// validated accessors, and label editing (xm addlabel/rmlabel/getlabel dom) that splices the
// text so everything else stays byte-for-byte. A value type; thread-compatible.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/result.h"
#include "shype/config/device_spec.h"
#include "shype/config/setting.h"

namespace shype::config {

inline constexpr std::size_t kMaxConfigBytes = 1U << 20;

// A domain's ACM label: policy name and label name (written `ACM:<policy>:<label>`).
struct DomainLabel {
  std::string policy;
  std::string label;
  std::string AcmString() const { return "ACM:" + policy + ":" + label; }
  friend bool operator==(const DomainLabel&, const DomainLabel&) = default;
};

enum class Accel : std::uint8_t { kAuto, kKvm, kTcg };

// How a domain boots: the `kernel` directly (with its `ramdisk` and command line), or, without a
// kernel, its first disk through the firmware (SeaBIOS), which then owns the command line.
struct BootSpec {
  std::optional<std::string> kernel;  // nullopt: firmware boot of the first disk
  std::optional<std::string> ramdisk;
  std::string extra;  // the kernel command line (`extra` or `cmdline`), empty if unset
  bool firmware() const { return !kernel.has_value(); }
};

// The keys shype reads (xl's names), each once; a config may set others (kept, ignored, warned).
std::span<const std::string_view> KnownKeys();

class DomainConfig {
 public:
  // Parses `text`; `source` (usually the path) prefixes error messages as "<source>:<line>: ".
  // A key shype does not know is kept and ignored, with a warning (see warnings()). xl's
  // `cmdline` is a synonym of `extra`. Errors: kInvalidArgument (also: `extra` and `cmdline`
  // both set, naming both).
  [[nodiscard]] static Result<DomainConfig> Parse(std::string text, std::string source);
  // Reads (at most kMaxConfigBytes) and parses a file. Errors: kNotFound, kIo, kInvalidArgument.
  [[nodiscard]] static Result<DomainConfig> Load(const std::filesystem::path& path);
  // Writes Serialize() to `path` atomically (temp file, fsync, rename). Errors: kIo.
  [[nodiscard]] Result<void> Save(const std::filesystem::path& path) const;

  const std::string& Serialize() const { return text_; }
  const std::string& source() const { return source_; }
  std::span<const Setting> settings() const { return settings_; }
  // The setting of `key`, or of its synonym (Find("extra") finds `cmdline = ...`); nullptr if
  // neither is set.
  const Setting* Find(std::string_view key) const;
  // What is not wrong but probably a mistake, one message each, in line order:
  // "<source>:<line>: unknown key 'memroy'; did you mean 'memory'?" (or "...; it is ignored").
  std::span<const std::string> warnings() const { return warnings_; }

  // xm's sanity check: at least three of kernel, bootloader, memory, name are set; disk counts
  // too (a domain without a kernel boots its first disk through the firmware).
  bool LooksLikeDomainConfig() const;

  // Generic typed reads; errors (kInvalidArgument) name the source, line and key.
  [[nodiscard]] Result<std::optional<std::string>> GetString(std::string_view key) const;
  [[nodiscard]] Result<std::optional<std::int64_t>> GetInteger(std::string_view key) const;
  // A list of strings; an absent key is an empty list.
  [[nodiscard]] Result<std::vector<ConfigItem>> GetStringList(std::string_view key) const;

  [[nodiscard]] Result<std::string> Name() const;  // required, [A-Za-z0-9_.-]{1,64}
  [[nodiscard]] Result<std::optional<std::uint64_t>> MemoryMiB() const;  // 1..16777216
  [[nodiscard]] Result<std::optional<std::uint32_t>> Vcpus() const;      // 1..64
  [[nodiscard]] Result<std::optional<Accel>> Accelerator() const;        // auto | kvm | tcg
  [[nodiscard]] Result<std::vector<DiskSpec>> Disks() const;
  [[nodiscard]] Result<std::vector<VifSpec>> Vifs() const;
  [[nodiscard]] Result<std::vector<VtpmSpec>> Vtpms() const;
  [[nodiscard]] Result<std::vector<ShmSpec>> Shms() const;
  // kernel, ramdisk and extra. Errors (kInvalidArgument): a ramdisk or command line without a
  // kernel (naming the key), neither a kernel nor a disk ("nothing to boot").
  [[nodiscard]] Result<BootSpec> Boot() const;
  // Runs every typed accessor above and the label check; the first error wins.
  [[nodiscard]] Result<void> Validate() const;

  // The label from `access_control = ['policy=P,label=L']` or `seclabel = 'ACM:P:L'`; nullopt
  // when unlabeled. Errors (kInvalidArgument): malformed label settings, or both present and
  // naming different labels.
  [[nodiscard]] Result<std::optional<DomainLabel>> GetLabel() const;
  // kConflict "Config file '<source>' is already labeled." if access_control or seclabel is set.
  [[nodiscard]] Result<void> CheckNotLabeled() const;
  // Appends `access_control = ['policy=P,label=L']` (a '\n' first if the text lacks one) after
  // CheckNotLabeled(). Names must be non-empty without quotes, backslashes, ',', '=', ':',
  // blanks or control characters (kInvalidArgument).
  [[nodiscard]] Result<void> SetLabel(std::string_view policy, std::string_view label);
  // Deletes the access_control and seclabel statements: lines they own are removed whole, a
  // statement sharing its line with another is cut out alone. kNotFound "Domain not labeled".
  [[nodiscard]] Result<void> RemoveLabel();

 private:
  DomainConfig(std::string text, std::string source, std::vector<Setting> settings);
  const Setting* FindExactly(std::string_view key) const;

  std::string text_;
  std::string source_;
  std::vector<Setting> settings_;
  std::vector<std::string> warnings_;
};

}  // namespace shype::config
