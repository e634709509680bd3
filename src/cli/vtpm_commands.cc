// SPDX-License-Identifier: Apache-2.0
//
// vtpm list|destroy|ca, attest and verify (docs/vtpm.md). attest writes the files a verifier
// and tpm2_checkquote read; verify runs here, offline, on such a directory: it needs no shyped
// (a remote party has none) and exits 1 when the attestation does not hold, 2 on bad input.
#include <sys/stat.h>

#include "commands.h"
#include "shype/common/file.h"
#include "shype/vtpm/attestation.h"

namespace shype::cli {
namespace {

Result<api::Json> CallLive(Context& ctx, const api::Command& command) {
  auto backend = ctx.backend();
  if (!backend) return Fail(backend.error());
  if (!(*backend)->live()) return Fail(NeedsDaemon(api::OpOf(command), ctx.state_dir()));
  return (*backend)->Call(command);
}

std::string FormatVtpms(const api::Json& list) {
  std::string out = fmt::format("{:<16} {:<36} {:<20} {}\n", "Domain", "UUID", "Label", "State");
  for (const api::Json& v : list) {
    std::string state = v.value("state", "");
    if (v.contains("failure")) state += ": " + v.value("failure", "");
    out += fmt::format("{:<16} {:<36} {:<20} {}\n", v.value("domain", ""), v.value("uuid", ""),
                       v.value("label", ""), state);
  }
  return out;
}

Result<void> WriteAttestation(const api::Json& a, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot create {}: {}", dir.string(), ec.message());
  auto bytes = [&](const char* field) -> Result<std::vector<std::uint8_t>> {
    auto parsed = vtpm::ParseHex(a.value(field, ""));
    if (!parsed) return Fail(ErrorCode::kInternal, "shyped's reply: field '{}' is not hex", field);
    return parsed;
  };
  auto msg = bytes("quote_msg");
  auto sig = bytes("quote_sig");
  if (!msg || !sig) return Fail((!msg ? msg : sig).error());
  const std::pair<std::string_view, std::string> texts[] = {
      {vtpm::kEventLogFile, a.value("eventlog", "")},
      {vtpm::kAkCertificateFile, a.value("ak_certificate", "")},
      {vtpm::kAkPublicFile, a.value("ak_public", "")},
      {vtpm::kEkCertificateFile, a.value("ek_certificate", "")},
      {vtpm::kNonceFile, a.value("nonce", "") + "\n"},
      {"pcrs.json", a.value("pcrs", api::Json::object()).dump(2) + "\n"}};
  if (auto w = WriteFileAtomic(dir / vtpm::kQuoteMessageFile, *msg); !w) return w;
  if (auto w = WriteFileAtomic(dir / vtpm::kQuoteSignatureFile, *sig); !w) return w;
  for (const auto& [file, text] : texts) {
    if (auto w = WriteFileAtomic(dir / file, text); !w) return w;
  }
  return {};
}

std::string FormatReport(const vtpm::VerifyReport& r) {
  std::string out = "Attestation: VERIFIED\n";
  out += fmt::format("  Domain:   {} (vTPM {})\n", r.record.domain, r.record.vtpm);
  out += fmt::format("  Label:    {}\n", r.record.label);
  out += fmt::format("  Policy:   {} version {} (sha256 {})\n", r.record.policy,
                     r.record.policy_version, r.record.policy_hash);
  out += fmt::format("  STE:      {}\n", fmt::join(r.record.ste_types, ", "));
  out += fmt::format("  CHWALL:   {}\n", fmt::join(r.record.chwall_types, ", "));
  out += fmt::format("  Kernel:   {}\n", r.kernel ? vtpm::Hex(*r.kernel) : "(firmware boot)");
  out += fmt::format("  Initrd:   {}\n", r.initrd ? vtpm::Hex(*r.initrd) : "(none)");
  out += fmt::format("  Cmdline:  {}\n", r.cmdline.value_or("(none)"));
  out += fmt::format("  AK:       {}\n", r.ak_subject);
  out += fmt::format("  Nonce:    {}\n", r.nonce_checked ? vtpm::Hex(r.quote.nonce) + " (checked)"
                                                         : "not checked (no --nonce given)");
  return out;
}

api::Json ReportJson(const vtpm::VerifyReport& r) {
  return api::Json{{"verified", true},
                   {"domain", r.record.domain},
                   {"vtpm", r.record.vtpm},
                   {"label", r.record.label},
                   {"policy", r.record.policy},
                   {"policy_version", r.record.policy_version},
                   {"policy_hash", r.record.policy_hash},
                   {"ste_types", r.record.ste_types},
                   {"chwall_types", r.record.chwall_types},
                   {"kernel", r.kernel ? vtpm::Hex(*r.kernel) : ""},
                   {"initrd", r.initrd ? vtpm::Hex(*r.initrd) : ""},
                   {"cmdline", r.cmdline.value_or("")},
                   {"ak", r.ak_subject},
                   {"nonce_checked", r.nonce_checked}};
}

void RegisterVtpm(CLI::App& app, Context& ctx) {
  auto* vtpm = app.add_subcommand("vtpm", "virtual TPMs: list, destroy, the host CA");
  vtpm->require_subcommand(1);
  vtpm->add_subcommand("list", "list the vTPMs, their labels and state")->callback([&ctx] {
    auto r = CallLive(ctx, api::ListVtpms{});
    if (!r) return ctx.PrintError(r.error());
    ctx.Print(*r, FormatVtpms(*r));
  });
  auto* destroy = vtpm->add_subcommand(
      "destroy", "securely remove a domain's vTPM (its keys are gone for good)");
  auto name = std::make_shared<std::string>();
  destroy->add_option("domain", *name, "the domain whose vTPM goes")->required();
  destroy->callback([&ctx, name] {
    auto r = CallLive(ctx, api::DestroyVtpm{*name});
    if (!r) return ctx.PrintError(r.error());
    ctx.Print(*r, fmt::format("Destroyed the vTPM of {}\n", *name));
  });
  auto* ca = vtpm->add_subcommand("ca", "print the host CA certificate verifiers trust");
  auto out = std::make_shared<std::string>();
  ca->add_option("-o,--output", *out, "write it to this file instead");
  ca->callback([&ctx, out] {
    auto r = CallLive(ctx, api::GetVtpmCa{});
    if (!r) return ctx.PrintError(r.error());
    const std::string pem = r->value("certificate", "");
    if (out->empty()) return ctx.Print(*r, pem);
    if (auto w = WriteFileAtomic(*out, pem); !w) return ctx.PrintError(w.error());
    ctx.Print(*r, "");
  });
}

void RegisterAttest(CLI::App& app, Context& ctx) {
  auto* attest = app.add_subcommand(
      "attest", "quote a running domain's vTPM: its launch, policy and label, signed by its AK");
  auto name = std::make_shared<std::string>();
  auto nonce = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  attest->add_option("domain", *name, "domain name")->required();
  attest->add_option("--nonce", *nonce, "the verifier's nonce, hex (default: 32 random bytes)");
  attest->add_option("-o,--output", *dir, "directory for the files (default: attest-DOMAIN)");
  attest->callback([&ctx, name, nonce, dir] {
    auto r = CallLive(ctx, api::AttestDomain{*name, *nonce});
    if (!r) return ctx.PrintError(r.error());
    const std::filesystem::path out = dir->empty() ? "attest-" + *name : *dir;
    if (auto w = WriteAttestation(*r, out); !w) return ctx.PrintError(w.error());
    ctx.Print(*r, fmt::format("Attestation of {} (nonce {}) written to {}\n", *name,
                              r->value("nonce", ""), out.string()));
  });
}

void RegisterVerify(CLI::App& app, Context& ctx) {
  auto* verify = app.add_subcommand(
      "verify", "verify an attestation directory (offline): chain, signature, nonce, log, label");
  auto req = std::make_shared<vtpm::VerifyRequest>();
  auto dir = std::make_shared<std::string>();
  auto ca = std::make_shared<std::string>();
  auto nonce = std::make_shared<std::string>();
  auto label = std::make_shared<std::string>();
  auto policy = std::make_shared<std::string>();
  auto domain = std::make_shared<std::string>();
  verify->add_option("dir", *dir, "the directory shype attest wrote")->required();
  verify->add_option("--ca", *ca, "the host CA certificate (shype vtpm ca)")->required();
  verify->add_option("--nonce", *nonce, "the nonce the quote must carry (hex)");
  verify->add_option("--expect-label", *label, "the label the domain must run with");
  verify->add_option("--expect-policy", *policy, "the policy it must have been launched under");
  verify->add_option("--expect-domain", *domain, "the domain the quote must be of");
  verify->callback([&ctx, req, dir, ca, nonce, label, policy, domain] {
    req->dir = *dir;
    req->ca = *ca;
    if (!nonce->empty()) {
      auto n = vtpm::ParseHex(*nonce);
      if (!n) return ctx.PrintError(n.error().WithContext("--nonce"));
      req->nonce = *n;
    }
    if (!label->empty()) req->expect_label = *label;
    if (!policy->empty()) req->expect_policy = *policy;
    if (!domain->empty()) req->expect_domain = *domain;
    auto report = vtpm::VerifyAttestation(*req);
    if (!report) {
      Error e = report.error();
      if (e.code == ErrorCode::kPermissionDenied) e.message = "verification FAILED: " + e.message;
      return ctx.PrintError(e);
    }
    ctx.Print(ReportJson(*report), FormatReport(*report));
  });
}

}  // namespace

void RegisterVtpmCommands(CLI::App& app, Context& ctx) {
  RegisterVtpm(app, ctx);
  RegisterAttest(app, ctx);
  RegisterVerify(app, ctx);
}

}  // namespace shype::cli
