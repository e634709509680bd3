// SPDX-License-Identifier: Apache-2.0
//
// An attestation as `shype attest` writes it (a directory: quote.msg, quote.sig, eventlog.json,
// ak-cert.pem, ak.pub.pem, ek-cert.pem, nonce) and its verification by a remote party: the AK
// certificate's chain to the host CA, the quote's signature, the nonce, the event log replayed
// against the quoted PCR digest, then the measured label and policy. Pure (OpenSSL, tss2-mu);
// reads only the files named; thread-compatible.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "shype/common/result.h"
#include "shype/vtpm/event_log.h"

namespace shype::vtpm {

inline constexpr std::string_view kQuoteMessageFile = "quote.msg";
inline constexpr std::string_view kQuoteSignatureFile = "quote.sig";
inline constexpr std::string_view kEventLogFile = "eventlog.json";
inline constexpr std::string_view kAkCertificateFile = "ak-cert.pem";
inline constexpr std::string_view kAkPublicFile = "ak.pub.pem";
inline constexpr std::string_view kEkCertificateFile = "ek-cert.pem";
inline constexpr std::string_view kNonceFile = "nonce";

// The parts of TPMS_ATTEST a verifier checks.
struct QuoteInfo {
  std::vector<std::uint8_t> nonce;  // extraData
  std::vector<std::uint32_t> pcrs;  // the sha256 bank's selection, ascending
  Digest pcr_digest{};
  std::uint64_t reset_count = 0;
  std::uint64_t clock = 0;
};
// Errors: kInvalidArgument ("truncated", "not a quote", a bank other than sha256).
[[nodiscard]] Result<QuoteInfo> ParseQuoteMessage(std::span<const std::uint8_t> attest);
// A marshaled TPMT_SIGNATURE (ECDSA, SHA-256) as DER ECDSA-Sig-Value. Errors: kInvalidArgument.
[[nodiscard]] Result<std::vector<std::uint8_t>> ParseQuoteSignature(
    std::span<const std::uint8_t> sig);

struct VerifyRequest {
  std::filesystem::path dir;
  std::filesystem::path ca;  // the host CA certificate (PEM)
  std::optional<std::vector<std::uint8_t>> nonce;
  std::optional<std::string> expect_label;
  std::optional<std::string> expect_policy;
  std::optional<std::string> expect_domain;
};

struct VerifyReport {
  LaunchRecord record;
  std::string ak_subject;
  std::optional<std::string> cmdline;
  std::optional<Digest> kernel;
  std::optional<Digest> initrd;
  QuoteInfo quote;
  bool nonce_checked = false;
};

// Errors: kInvalidArgument naming the file and what is wrong with it (bad input: exit 2);
// kPermissionDenied with the reason the attestation does not hold (a mismatch: exit 1).
[[nodiscard]] Result<VerifyReport> VerifyAttestation(const VerifyRequest& request);

}  // namespace shype::vtpm
