// SPDX-License-Identifier: Apache-2.0
//
// The configuration checks of create (create_checks.h).
#include "shype/admin/create_checks.h"

#include <algorithm>
#include <set>

namespace shype::admin {

namespace {

// One TPM 2.0 per domain, from its own swtpm (docs/vtpm.md); xm's instance= and backend= (a
// backend domain) have no meaning here.
std::vector<std::string> VtpmRefusals(const config::DomainConfig& config, const std::string& path) {
  std::vector<std::string> out;
  const std::vector<config::VtpmSpec> vtpms = *config.Vtpms();
  if (vtpms.size() > 1) {
    out.push_back(fmt::format("{}: a domain has at most one vtpm, not {}", path, vtpms.size()));
  }
  for (const config::VtpmSpec& vtpm : vtpms) {
    for (const auto& [key, value] : vtpm.options) {
      if (key == "type" && value == "tpm2") continue;
      out.push_back(
          fmt::format("{}: vtpm option '{}={}' is not supported: write vtpm = [ "
                      "'type=tpm2' ] (a TPM 2.0 from the domain's own swtpm)",
                      path, key, value));
    }
  }
  return out;
}

}  // namespace

std::vector<Error> ConfigRefusals(const config::DomainConfig& config, const std::string& path) {
  std::vector<Error> refusals;
  auto refuse = [&](ErrorCode code, std::string message) {
    refusals.push_back(Error{code, std::move(message)});
  };
  // SECURITY: the file name goes into the domain's record; a huge one made a record larger than
  // a restarted shyped reads, so that shyped refused to start.
  constexpr std::size_t kMaxPathBytes = 4096;
  if (path.size() > kMaxPathBytes) {
    refuse(ErrorCode::kInvalidArgument,
           fmt::format("the configuration's file name is {} bytes long; at most {} are accepted",
                       path.size(), kMaxPathBytes));
  }
  if (auto v = config.Validate(); !v) {
    refusals.push_back(v.error());
    return refusals;  // the accessors below need a valid configuration
  }
  const std::string name = *config.Name();
  if (!name.empty() &&
      std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    refuse(ErrorCode::kInvalidArgument,
           fmt::format("{}: name '{}' is all digits, which commands read as a domain id: name it "
                       "otherwise",
                       path, name));
  }
  if (name == "Domain-0") {
    refuse(ErrorCode::kConflict, "a domain named 'Domain-0' is already running");
  }
  // Validate() checked the boot: a kernel, or a disk the firmware boots (no ramdisk, no extra).
  if (config.Boot()->extra.find("shype.label=") != std::string::npos) {
    refuse(ErrorCode::kInvalidArgument,
           fmt::format("{}: 'extra' may not set shype.label= (shyped gives the guest its label)",
                       path));
  }
  // SECURITY: a config naming one region twice would join it, fail the second join and be rolled
  // back; repeated, that hands a new eventfd to every peer's QEMU each time (and uses up ids).
  std::set<std::string, std::less<>> regions;
  const std::vector<config::ShmSpec> shms = *config.Shms();
  for (const config::ShmSpec& shm : shms) {
    if (!regions.insert(shm.name).second) {
      refuse(ErrorCode::kInvalidArgument,
             fmt::format("{}: shm region '{}' is named twice", path, shm.name));
    }
  }
  for (std::string& why : VtpmRefusals(config, path))
    refuse(ErrorCode::kInvalidArgument, std::move(why));
  return refusals;
}

}  // namespace shype::admin
