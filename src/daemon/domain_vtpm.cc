// SPDX-License-Identifier: Apache-2.0
//
// A domain's vTPM in its create: the ACM's resource `vtpm:<name>` (labeled with the label the
// vTPM was made for), then, before QEMU starts, the launch to measure: the kernel and initrd
// copied into sealed memfds (QEMU loads exactly the bytes measured), the command line, and the
// shype record (policy, its hash, the label and its types).
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "domain_manager.h"
#include "shype/common/log.h"
#include "shype/policy/binary_policy.h"

namespace shype::daemon {
namespace {

// Copies `fd` from offset 0 into a memfd sealed against any change, hashing what it copies.
Result<std::pair<UniqueFd, vtpm::Digest>> SealedCopy(int fd, std::string_view what) {
  UniqueFd copy(
      ::memfd_create(fmt::format("shype-{}", what).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!copy.valid() || !md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) {
    return Fail(ErrorCode::kIo, "cannot copy the {} to measure it: {}", what, std::strerror(errno));
  }
  std::vector<char> buf(1 << 20);
  for (off_t off = 0;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(ErrorCode::kIo, "cannot read the {}: {}", what, std::strerror(errno));
    if (n == 0) break;
    if (::write(copy.get(), buf.data(), static_cast<std::size_t>(n)) != n) {
      return Fail(ErrorCode::kIo, "cannot copy the {}: {}", what, std::strerror(errno));
    }
    EVP_DigestUpdate(md.get(), buf.data(), static_cast<std::size_t>(n));
    off += n;
  }
  vtpm::Digest digest{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(md.get(), digest.data(), &len);
  if (::fcntl(copy.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    return Fail(ErrorCode::kIo, "cannot seal the {}'s copy: {}", what, std::strerror(errno));
  }
  return std::make_pair(std::move(copy), digest);
}

std::vector<std::string> TypesOf(const policy::TypeMatrix& m, std::uint32_t row,
                                 const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (std::uint32_t col = 0; row < m.rows && col < m.cols && col < names.size(); ++col) {
    if (m.has(row, col)) out.push_back(names[col]);
  }
  return out;
}

vtpm::LaunchRecord RecordOf(const DomainRecord& d, const acm::LoadedPolicy& policy) {
  vtpm::LaunchRecord r;
  r.domain = d.name;
  r.label = d.label;
  r.policy = policy.name();
  r.policy_version = fmt::format("{}.{}", policy.version().major, policy.version().minor);
  const auto binary = policy::SerializeBinaryPolicy(policy.binary());
  r.policy_hash = vtpm::Hex(vtpm::Sha256Of(binary));
  const std::uint32_t ref = d.ssidref.value();
  if (policy.binary().ste) {
    r.ste_types = TypesOf(policy.binary().ste->ssids, ref >> 16, policy.labels().ste_types);
  }
  if (policy.binary().chwall) {
    r.chwall_types =
        TypesOf(policy.binary().chwall->ssids, ref & 0xffff, policy.labels().chwall_types);
  }
  return r;
}

}  // namespace

Result<std::optional<acm::ResourceRef>> DomainManager::VtpmResource(
    const config::DomainConfig& config, const admin::DomainPlan& plan) const {
  if (config.Vtpms()->empty()) return std::optional<acm::ResourceRef>();
  if (options_.vtpms == nullptr) {
    return Fail(ErrorCode::kUnavailable, "domain '{}' asks for a vtpm; this shyped has none",
                plan.name);
  }
  auto found = options_.vtpms->store().Find(plan.name);
  if (!found) return Fail(found.error());
  auto policy = acm_.active_policy();
  if (!policy) return Fail(ErrorCode::kUnavailable, "no policy is loaded");
  // A vTPM not made yet will be made for the domain's label; one made belongs to its label.
  if (!*found) {
    return std::optional<acm::ResourceRef>(
        acm::ResourceRef{"vtpm:" + plan.name, plan.ssidref, acm::ResourceKind::kVtpm});
  }
  auto owner = VtpmOwnerRef(plan.name, *policy);
  if (!owner) return Fail(owner.error());
  return std::optional<acm::ResourceRef>(*owner);
}

Result<acm::ResourceRef> DomainManager::VtpmOwnerRef(const std::string& domain,
                                                     const acm::LoadedPolicy& policy) const {
  if (options_.vtpms == nullptr) return Fail(ErrorCode::kUnavailable, "this shyped has no vTPMs");
  auto found = options_.vtpms->store().Find(domain);
  if (!found) return Fail(found.error());
  if (!*found) return Fail(ErrorCode::kNotFound, "domain '{}' has no vTPM any more", domain);
  const std::string& owner = (*found)->label;
  auto ssidref = policy.VmSsidref(owner);
  if (!ssidref) {
    return Fail(ErrorCode::kPermissionDenied,
                "the vTPM of '{}' belongs to label '{}', which policy '{}' does not have (shype "
                "vtpm destroy {} removes it, its keys with it)",
                domain, owner, policy.name(), domain);
  }
  return acm::ResourceRef{"vtpm:" + domain, *ssidref, acm::ResourceKind::kVtpm};
}

Result<void> DomainManager::StartVtpm(Domain& d, const config::DomainConfig& config,
                                      LaunchRequest& request, std::vector<UniqueFd>& keep) {
  if (config.Vtpms()->empty()) return {};
  if (options_.vtpms == nullptr) return Fail(ErrorCode::kUnavailable, "this shyped has no vTPMs");
  auto policy = acm_.active_policy();
  if (!policy) return Fail(ErrorCode::kUnavailable, "no policy is loaded");
  vtpm::LaunchInputs in;
  in.domain = d.record.name;
  in.record = RecordOf(d.record, *policy);
  in.log_file = d.run_dir / "swtpm.log";
  // SECURITY: QEMU loads the sealed copies, so what was measured is what it boots; a file
  // changed after this point changes nothing.
  if (request.kernel_fd >= 0) {
    auto kernel = SealedCopy(request.kernel_fd, "kernel");
    if (!kernel) return Fail(kernel.error());
    in.kernel = kernel->second;
    request.kernel_fd = kernel->first.get();
    keep.push_back(std::move(kernel->first));
    in.cmdline = request.append;
  }
  if (request.initrd_fd >= 0) {
    auto initrd = SealedCopy(request.initrd_fd, "initrd");
    if (!initrd) return Fail(initrd.error());
    in.initrd = initrd->second;
    request.initrd_fd = initrd->first.get();
    keep.push_back(std::move(initrd->first));
  }
  auto started = options_.vtpms->Start(std::move(in));
  if (!started) return Fail(started.error());
  d.vtpm = *started;
  keep.push_back(d.vtpm->TakeQemuEnd());
  request.tpm_fd = keep.back().get();
  return {};
}

Result<void> DomainManager::VtpmMeasured(const Domain& d) {
  // SECURITY: QEMU initializes its TPM while it starts (before QMP answers); a QEMU that did not
  // would run its guest on a TPM whose launch is not measured.
  if (d.vtpm && d.vtpm->launches() < 1) {
    return Fail(ErrorCode::kUnavailable,
                "domain '{}': QEMU did not start its TPM, so its launch is not measured ({})",
                d.record.name, d.vtpm->failure().empty() ? "no INIT" : d.vtpm->failure());
  }
  return {};
}

}  // namespace shype::daemon
