// SPDX-License-Identifier: Apache-2.0
//
// DomainConfig: loading, saving and the typed, validated accessors.
#include "shype/config/domain_config.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "config_parser.h"
#include "shype/common/file.h"
#include "shype/config/nearest_name.h"
#include "shype/config/resource_name.h"

namespace shype::config {
namespace {

constexpr std::int64_t kMaxMemoryMiB = 16LL << 20;  // 16 TiB
constexpr std::int64_t kMaxVcpus = 64;

// Every key some part of shype reads (the typed accessors, LooksLikeDomainConfig, the labels).
constexpr std::string_view kKnownKeys[] = {
    "name",  "memory",  "vcpus",      "accel",       "kernel",         "ramdisk",
    "extra", "cmdline", "bootloader", "on_poweroff", "on_reboot",      "on_crash",
    "disk",  "vif",     "vtpm",       "shm",         "access_control", "seclabel"};

// xl's synonyms: a key, its other name and what both set. Setting both is an error.
struct Synonym {
  std::string_view key;
  std::string_view synonym;
  std::string_view what;
};
constexpr Synonym kSynonyms[] = {{"extra", "cmdline", "the kernel command line"}};

template <class... Args>
tl::unexpected<Error> At(const DomainConfig& config, std::uint32_t line,
                         fmt::format_string<Args...> format, Args&&... args) {
  return Fail(ErrorCode::kInvalidArgument, "{}:{}: {}", config.source(), line,
              fmt::format(format, std::forward<Args>(args)...));
}

// Parses each string of list `key` with `parse`; errors name the line and the element.
template <class Spec>
Result<std::vector<Spec>> ParseDevices(const DomainConfig& config, std::string_view key,
                                       Result<Spec> (*parse)(std::string_view)) {
  auto items = config.GetStringList(key);
  if (!items) return Fail(items.error());
  std::vector<Spec> specs;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const ConfigItem& item = (*items)[i];
    auto spec = parse(*item.AsString());
    if (!spec) return At(config, item.line, "{}", spec.error().message);
    specs.push_back(std::move(*spec));
  }
  return specs;
}

}  // namespace

DomainConfig::DomainConfig(std::string text, std::string source, std::vector<Setting> settings)
    : text_(std::move(text)), source_(std::move(source)), settings_(std::move(settings)) {}

std::span<const std::string_view> KnownKeys() { return kKnownKeys; }

Result<DomainConfig> DomainConfig::Parse(std::string text, std::string source) {
  auto settings = ParseSettings(text, source);
  if (!settings) return Fail(settings.error());
  DomainConfig config(std::move(text), std::move(source), std::move(*settings));
  for (const Synonym& s : kSynonyms) {
    const Setting* a = config.FindExactly(s.key);
    const Setting* b = config.FindExactly(s.synonym);
    if (a != nullptr && b != nullptr) {
      const Setting* later = a->line > b->line ? a : b;
      const Setting* earlier = later == a ? b : a;
      return At(config, later->line, "'{}' and '{}' (line {}) both set {}; keep one", later->key,
                earlier->key, earlier->line, s.what);
    }
  }
  for (const Setting& setting : config.settings_) {
    if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), setting.key) !=
        std::end(kKnownKeys)) {
      continue;
    }
    auto nearest = NearestName(setting.key, kKnownKeys);
    config.warnings_.push_back(nearest ? fmt::format("{}:{}: unknown key '{}'; did you mean '{}'?",
                                                     config.source_, setting.line, setting.key,
                                                     *nearest)
                                       : fmt::format("{}:{}: unknown key '{}'; it is ignored",
                                                     config.source_, setting.line, setting.key));
  }
  return config;
}

Result<DomainConfig> DomainConfig::Load(const std::filesystem::path& path) {
  auto text = ReadTextFileBounded(path, kMaxConfigBytes);
  if (!text) return Fail(text.error().WithContext(path.string()));
  return Parse(std::move(*text), path.string());
}

Result<void> DomainConfig::Save(const std::filesystem::path& path) const {
  return WriteFileAtomic(path, std::string_view(text_));
}

const Setting* DomainConfig::FindExactly(std::string_view key) const {
  for (const Setting& setting : settings_) {
    if (setting.key == key) return &setting;
  }
  return nullptr;
}

const Setting* DomainConfig::Find(std::string_view key) const {
  if (const Setting* setting = FindExactly(key)) return setting;
  for (const Synonym& s : kSynonyms) {
    if (s.key == key) return FindExactly(s.synonym);
  }
  return nullptr;
}

bool DomainConfig::LooksLikeDomainConfig() const {
  int found = 0;
  for (std::string_view key : {"kernel", "bootloader", "disk", "memory", "name"}) {
    if (Find(key) != nullptr) ++found;
  }
  return found >= 3;
}

Result<std::optional<std::string>> DomainConfig::GetString(std::string_view key) const {
  const Setting* setting = Find(key);
  if (setting == nullptr) return std::nullopt;
  if (setting->is_list || setting->items.front().AsString() == nullptr) {
    return At(*this, setting->line, "'{}' must be a quoted string, e.g. {} = 'value'", setting->key,
              setting->key);
  }
  return *setting->items.front().AsString();
}

Result<std::optional<std::int64_t>> DomainConfig::GetInteger(std::string_view key) const {
  const Setting* setting = Find(key);
  if (setting == nullptr) return std::nullopt;
  if (setting->is_list || setting->items.front().AsInteger() == nullptr) {
    return At(*this, setting->line, "'{}' must be an unquoted integer, e.g. {} = 1", setting->key,
              setting->key);
  }
  return *setting->items.front().AsInteger();
}

Result<std::vector<ConfigItem>> DomainConfig::GetStringList(std::string_view key) const {
  const Setting* setting = Find(key);
  if (setting == nullptr) return std::vector<ConfigItem>{};
  if (!setting->is_list) {
    return At(*this, setting->line, "'{}' must be a list of quoted strings: {} = [ '...', ]",
              setting->key, setting->key);
  }
  for (std::size_t i = 0; i < setting->items.size(); ++i) {
    if (setting->items[i].AsString() == nullptr) {
      return At(*this, setting->items[i].line, "{}[{}] must be a quoted string", setting->key, i);
    }
  }
  return setting->items;
}

Result<std::string> DomainConfig::Name() const {
  auto name = GetString("name");
  if (!name) return Fail(name.error());
  if (!*name) {
    return Fail(ErrorCode::kInvalidArgument, "{}: 'name' is not set; add name = 'NAME'", source_);
  }
  if (!IsValidObjectName(**name)) {
    return At(*this, Find("name")->line, "name '{}' must match [A-Za-z0-9_.-]{{1,64}}", **name);
  }
  return std::move(**name);
}

Result<std::optional<std::uint64_t>> DomainConfig::MemoryMiB() const {
  const Setting* setting = Find("memory");
  if (setting == nullptr) return std::nullopt;
  const std::int64_t* value = setting->is_list ? nullptr : setting->items.front().AsInteger();
  if (value == nullptr || *value < 1 || *value > kMaxMemoryMiB) {
    return At(*this, setting->line,
              "'memory' must be a positive unquoted integer in MiB (1..{}), e.g. memory = 256",
              kMaxMemoryMiB);
  }
  return static_cast<std::uint64_t>(*value);
}

Result<std::optional<std::uint32_t>> DomainConfig::Vcpus() const {
  const Setting* setting = Find("vcpus");
  if (setting == nullptr) return std::nullopt;
  const std::int64_t* value = setting->is_list ? nullptr : setting->items.front().AsInteger();
  if (value == nullptr || *value < 1 || *value > kMaxVcpus) {
    return At(*this, setting->line, "'vcpus' must be an unquoted integer from 1 to {}", kMaxVcpus);
  }
  return static_cast<std::uint32_t>(*value);
}

Result<std::optional<Accel>> DomainConfig::Accelerator() const {
  auto accel = GetString("accel");
  if (!accel) return Fail(accel.error());
  if (!*accel) return std::nullopt;
  if (**accel == "auto") return Accel::kAuto;
  if (**accel == "kvm") return Accel::kKvm;
  if (**accel == "tcg") return Accel::kTcg;
  return At(*this, Find("accel")->line, "accel '{}' must be 'auto', 'kvm' or 'tcg'", **accel);
}

Result<std::vector<DiskSpec>> DomainConfig::Disks() const {
  return ParseDevices<DiskSpec>(*this, "disk", ParseDiskSpec);
}
Result<std::vector<VifSpec>> DomainConfig::Vifs() const {
  return ParseDevices<VifSpec>(*this, "vif", ParseVifSpec);
}
Result<std::vector<VtpmSpec>> DomainConfig::Vtpms() const {
  return ParseDevices<VtpmSpec>(*this, "vtpm", ParseVtpmSpec);
}
Result<std::vector<ShmSpec>> DomainConfig::Shms() const {
  return ParseDevices<ShmSpec>(*this, "shm", ParseShmSpec);
}

Result<BootSpec> DomainConfig::Boot() const {
  BootSpec boot;
  auto kernel = GetString("kernel");
  auto ramdisk = GetString("ramdisk");
  auto extra = GetString("extra");
  if (!kernel || !ramdisk || !extra) {
    return Fail(!kernel ? kernel.error() : !ramdisk ? ramdisk.error() : extra.error());
  }
  boot.kernel = std::move(*kernel);
  boot.ramdisk = std::move(*ramdisk);
  boot.extra = extra->value_or("");
  if (!boot.firmware()) return boot;
  for (const char* key : {"ramdisk", "extra"}) {
    if (const Setting* setting = Find(key)) {
      return At(*this, setting->line,
                "'{}' needs a kernel: without 'kernel' the domain boots its first disk through the "
                "firmware; add kernel = '...' or remove '{}'",
                setting->key, setting->key);
    }
  }
  auto disks = GetStringList("disk");
  if (!disks) return Fail(disks.error());
  if (disks->empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "{}: nothing to boot: give kernel = '...' or a disk (disk = [ '...' ]) whose first "
                "one the firmware boots",
                source_);
  }
  return boot;
}

Result<void> DomainConfig::Validate() const {
  if (auto r = Name(); !r) return Fail(r.error());
  if (auto r = MemoryMiB(); !r) return Fail(r.error());
  if (auto r = Vcpus(); !r) return Fail(r.error());
  if (auto r = Accelerator(); !r) return Fail(r.error());
  for (std::string_view key : {"on_poweroff", "on_reboot", "on_crash"}) {
    if (auto r = GetString(key); !r) return Fail(r.error());
  }
  if (auto r = Disks(); !r) return Fail(r.error());
  if (auto r = Boot(); !r) return Fail(r.error());
  if (auto r = Vifs(); !r) return Fail(r.error());
  if (auto r = Vtpms(); !r) return Fail(r.error());
  if (auto r = Shms(); !r) return Fail(r.error());
  if (auto r = GetLabel(); !r) return Fail(r.error());
  return {};
}

}  // namespace shype::config
