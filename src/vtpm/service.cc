// SPDX-License-Identifier: Apache-2.0
//
// Service: manufacture on first start (record.json written last), the AK checked on every later
// start (a replaced state is refused), quotes on the relay thread.
#include "shype/vtpm/service.h"

#include <openssl/rand.h>
#include <stdlib.h>

#include <chrono>

#include "shype/common/log.h"

namespace shype::vtpm {
namespace {

std::string NewUuid() {
  std::uint8_t b[16] = {};
  (void)RAND_bytes(b, sizeof(b));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const std::string h = Hex(b);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                     h.substr(16, 4), h.substr(20));
}

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Service::Service(std::filesystem::path root, std::filesystem::path swtpm)
    : store_(std::move(root)), swtpm_(std::move(swtpm)) {
  // tpm2-tss logs every TPM error to stderr; shyped reports them as errors. Set once, at start-up
  // (before the relay threads; TSS2_LOG in the environment wins).
  ::setenv("TSS2_LOG", "all+none", 0);
}

Service::~Service() {
  for (auto& [name, instance] : running_) instance->Stop();
}

Result<HostCa*> Service::Ca() {
  if (!ca_) {
    auto ca = HostCa::OpenOrCreate(store_.root() / "ca");
    if (!ca) return Fail(ca.error());
    ca_ = std::move(*ca);
  }
  return ca_.get();
}

Result<std::string> Service::CaCertificate() {
  auto ca = Ca();
  if (!ca) return Fail(ca.error());
  return (*ca)->certificate_pem();
}

// Long: manufacture and re-start share one sequence; the setup step differs.
Result<std::shared_ptr<Instance>> Service::Start(LaunchInputs in) {
  if (running_.contains(in.domain)) {
    return Fail(ErrorCode::kConflict, "the vTPM of '{}' runs already", in.domain);
  }
  auto ca = Ca();
  if (!ca) return Fail(ca.error());
  auto key = store_.KeyFile();
  if (!key) return Fail(key.error());
  auto found = store_.Find(in.domain);
  if (!found) return Fail(found.error());
  VtpmRecord record;
  const bool manufacture = !found->has_value();
  if (manufacture) {
    if (auto p = store_.Prepare(in.domain); !p) return Fail(p.error());
    record = VtpmRecord{in.domain, NewUuid(), in.record.label, Now(), "", "", ""};
  } else {
    record = **found;
  }
  in.record.vtpm = record.uuid;
  InstanceOptions options;
  options.name = in.domain;
  options.state_dir = store_.TpmDir(in.domain);
  options.key_file = *key;
  options.log_file = in.log_file;
  options.swtpm = swtpm_;
  options.launch = MakeLaunchLog(in.record, in.cmdline, in.kernel, in.initrd);
  // SECURITY: a launch whose log cannot be written (a command line that is not UTF-8: the log
  // is JSON) is refused before it is measured into a vTPM that could never be attested.
  try {
    (void)EventLogJson(options.launch);
  } catch (const std::exception&) {  // adapter: nlohmann reports a string not UTF-8 by throwing
    return Fail(ErrorCode::kInvalidArgument,
                "the launch of '{}' has no event log: its kernel command line (or its record) is "
                "not UTF-8",
                in.domain);
  }
  HostCa* host_ca = *ca;
  auto setup = [&](Tpm& tpm) -> Result<void> {
    if (!manufacture) {
      auto ak = tpm.AttestationKeyPublic();
      if (!ak) return Fail(ak.error());
      auto pem = PublicKeyPem(*ak);
      if (!pem) return Fail(pem.error());
      if (*pem != record.ak_public) {
        return Fail(ErrorCode::kPermissionDenied,
                    "the vTPM of '{}' no longer has the AK it was certified with: its state was "
                    "replaced (shype vtpm destroy {} makes a new one)",
                    in.domain, in.domain);
      }
      return {};
    }
    auto ek = tpm.CreateEndorsementKey();
    if (!ek) return Fail(ek.error());
    auto ek_cert = host_ca->Issue(*ek, "shype vTPM EK " + record.uuid, "vtpm:" + record.uuid,
                                  KeyRole::kEndorsement);
    if (!ek_cert) return Fail(ek_cert.error());
    if (auto s = tpm.StoreEkCertificate(ek_cert->der); !s) return s;
    auto ak = tpm.AttestationKeyPublic();
    if (!ak) return Fail(ak.error());
    auto ak_cert = host_ca->Issue(*ak, fmt::format("{} vTPM {}", in.domain, record.uuid),
                                  "label:" + record.label, KeyRole::kAttestation);
    auto ak_pem = PublicKeyPem(*ak);
    if (!ak_cert || !ak_pem) return Fail((!ak_cert ? ak_cert.error() : ak_pem.error()));
    record.ek_certificate = ek_cert->pem;
    record.ak_certificate = ak_cert->pem;
    record.ak_public = *ak_pem;
    return {};
  };
  auto instance = Instance::Start(std::move(options), setup);
  if (!instance) return Fail(instance.error());
  if (manufacture) {
    // Written last: a vTPM without its record is one whose manufacture did not complete.
    if (auto s = store_.Save(record); !s) return Fail(s.error());
    log::Info("vtpm: manufactured the vTPM {} of domain {} (label {})", record.uuid, in.domain,
              record.label);
  }
  std::shared_ptr<Instance> shared = std::move(*instance);
  running_[in.domain] = shared;
  return shared;
}

std::shared_ptr<Instance> Service::Running(const std::string& domain) const {
  auto it = running_.find(domain);
  return it == running_.end() ? nullptr : it->second;
}

void Service::Stop(const std::string& domain) {
  auto it = running_.find(domain);
  if (it == running_.end()) return;
  it->second->Stop();
  running_.erase(it);
}

Result<void> Service::Destroy(const std::string& domain) {
  if (running_.contains(domain)) {
    return Fail(ErrorCode::kConflict,
                "the vTPM of '{}' is in use: destroy or shut down the domain first", domain);
  }
  return store_.Destroy(domain);
}

void Service::Attest(const std::string& domain, std::vector<std::uint8_t> nonce,
                     std::function<void(Result<Attestation>)> done) {
  auto instance = Running(domain);
  auto found = store_.Find(domain);
  if (!found || !*found) {
    done(Fail(ErrorCode::kNotFound, "domain '{}' has no vTPM", domain));
    return;
  }
  if (!instance) {
    done(Fail(ErrorCode::kUnavailable,
              "the vTPM of '{}' is not running (its domain is not, or shyped restarted since it "
              "started: restart the domain)",
              domain));
    return;
  }
  auto ca = CaCertificate();
  if (!ca) {
    done(Fail(ca.error()));
    return;
  }
  Attestation base;
  base.nonce = std::move(nonce);
  base.event_log = EventLogJson(instance->launch_log());
  base.ak_certificate = (*found)->ak_certificate;
  base.ak_public = (*found)->ak_public;
  base.ek_certificate = (*found)->ek_certificate;
  base.ca_certificate = *ca;
  // The op runs on the relay thread before Stop() returns, so `self` outlives it (a shared_ptr
  // here could make the relay thread join itself).
  Instance* self = instance.get();
  instance->Submit(
      [base = std::move(base), done = std::move(done), domain, self](Tpm* tpm) mutable {
        if (tpm == nullptr) {
          const std::string why = self->failure();
          done(Fail(ErrorCode::kUnavailable, "the vTPM of '{}' does not work: {}", domain,
                    why.empty() ? "stopped" : why));
          return;
        }
        auto quote = tpm->QuotePcrs(base.nonce, kMeasuredPcrs);
        if (!quote) {
          done(Fail(quote.error()));
          return;
        }
        auto pcrs = tpm->ReadPcrs(kMeasuredPcrs);
        if (!pcrs) {
          done(Fail(pcrs.error()));
          return;
        }
        base.quote = std::move(*quote);
        base.pcrs = std::move(*pcrs);
        done(std::move(base));
      });
}

}  // namespace shype::vtpm
