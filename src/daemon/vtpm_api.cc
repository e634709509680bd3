// SPDX-License-Identifier: Apache-2.0
//
// The vTPM requests of the API (docs/api.md): the list, the host CA, secure removal, attestation
// (the quote taken on the vTPM's relay thread, its reply posted back to the io_context), and the
// vtpm section of a domain's info.
#include <openssl/rand.h>

#include <boost/asio/post.hpp>

#include "await.h"
#include "daemon.h"
#include "shype/common/log.h"

namespace shype::daemon {
namespace asio = boost::asio;
using api::Json;

Json Daemon::VtpmRecordJson(const vtpm::VtpmRecord& r) const {
  Json j{{"domain", r.domain}, {"uuid", r.uuid}, {"label", r.label}, {"created", r.created}};
  auto running = vtpms_->Running(r.domain);
  if (!running) {
    j["state"] = "stopped";
    return j;
  }
  const std::string failure = running->failure();
  j["state"] = failure.empty() ? "running" : "failed";
  if (!failure.empty()) j["failure"] = failure;
  j["measured_launches"] = running->launches();
  j["swtpm_pid"] = running->pid();
  return j;
}

Result<Json> Daemon::VtpmJson(const std::string& domain) const {
  auto found = vtpms_->store().Find(domain);
  if (!found) return Fail(found.error());
  return *found ? VtpmRecordJson(**found) : Json(nullptr);
}

Result<Json> Daemon::Vtpms() const {
  auto list = vtpms_->store().List();
  if (!list) return Fail(list.error());
  Json out = Json::array();
  for (const vtpm::VtpmRecord& r : *list) out.push_back(VtpmRecordJson(r));
  return out;
}

Result<Json> Daemon::VtpmCa() {
  auto pem = vtpms_->CaCertificate();
  if (!pem) return Fail(pem.error());
  return Json{{"certificate", *pem}};
}

Result<Json> Daemon::DestroyVtpm(const api::DestroyVtpm& command) {
  auto found = vtpms_->store().Find(command.name);
  if (!found) return Fail(found.error());
  // A domain of that name runs (after a restart its vTPM no longer does, but it holds it).
  if (domains_->Info(command.name)) {
    return Fail(ErrorCode::kConflict,
                "the vTPM of '{}' is in use: destroy or shut down the domain first", command.name);
  }
  if (auto done = vtpms_->Destroy(command.name); !done) return Fail(done.error());
  AuditNote note;
  note.action = "vtpm-destroy";
  note.hook = acm::Hook::kResource;
  note.decision = acm::Decision::kPermit;
  note.domain = command.name;
  note.label = *found ? (*found)->label : "";
  note.object = "vtpm:" + command.name;
  note.reason = "its state securely removed";
  AuditAction(note);
  return Json::object();
}

asio::awaitable<Result<Json>> Daemon::Attest(api::AttestDomain command) {
  std::vector<std::uint8_t> nonce(32);
  if (!command.nonce.empty()) {
    auto parsed = vtpm::ParseHex(command.nonce);
    if (!parsed) co_return Fail(parsed.error().WithContext("field 'nonce'"));
    nonce = std::move(*parsed);
  } else if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    co_return Fail(ErrorCode::kInternal, "no random bytes for a nonce");
  }
  auto start = [this, &command, &nonce](std::function<void(Result<vtpm::Attestation>)> done) {
    vtpms_->Attest(command.name, nonce, [this, done](Result<vtpm::Attestation> a) {
      asio::post(io_, [done, a = std::move(a)]() mutable { done(std::move(a)); });
    });
  };
  auto got = co_await AwaitCallback<Result<vtpm::Attestation>>(start);
  if (!got) co_return Fail(got.error().WithContext(fmt::format("attest '{}'", command.name)));
  Json pcrs = Json::object();
  for (std::size_t i = 0; i < vtpm::kMeasuredPcrs.size() && i < got->pcrs.size(); ++i) {
    pcrs[std::to_string(vtpm::kMeasuredPcrs[i])] = vtpm::Hex(got->pcrs[i]);
  }
  co_return Json{{"domain", command.name},
                 {"nonce", vtpm::Hex(got->nonce)},
                 {"quote_msg", vtpm::Hex(got->quote.attest)},
                 {"quote_sig", vtpm::Hex(got->quote.signature)},
                 {"eventlog", got->event_log},
                 {"ak_certificate", got->ak_certificate},
                 {"ak_public", got->ak_public},
                 {"ek_certificate", got->ek_certificate},
                 {"ca_certificate", got->ca_certificate},
                 {"pcrs", std::move(pcrs)}};
}

}  // namespace shype::daemon
