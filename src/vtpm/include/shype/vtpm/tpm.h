// SPDX-License-Identifier: Apache-2.0
//
// Tpm: the TPM 2.0 commands shyped itself sends to a domain's swtpm (tpm2-tss ESAPI over the
// data channel's fd): start-up, the launch measurements, disabling the platform hierarchy,
// manufacture (EK, its certificate in NV, the AK) and quotes. Not thread-safe: one thread
// (the instance's relay thread, or its starter before that) uses it at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "shype/common/result.h"

namespace shype::vtpm {

using Sha256 = std::array<std::uint8_t, 32>;

inline constexpr std::uint32_t kEkPersistentHandle = 0x81010001;  // TCG EK Credential Profile
inline constexpr std::uint32_t kEkCertificateIndex = 0x01c0000a;  // ECC P-256 EK certificate

// A quote as tpm2_quote writes it: the TPMS_ATTEST bytes and the marshaled TPMT_SIGNATURE.
struct Quote {
  std::vector<std::uint8_t> attest;
  std::vector<std::uint8_t> signature;
};

class Tpm {
 public:
  // ESAPI over `fd`, a connected stream socket to swtpm's data channel (borrowed: it must
  // outlive the Tpm). Errors: kInternal (tpm2-tss refused to initialize).
  [[nodiscard]] static Result<std::unique_ptr<Tpm>> Open(int fd);
  ~Tpm();
  Tpm(const Tpm&) = delete;
  Tpm& operator=(const Tpm&) = delete;

  [[nodiscard]] Result<void> Startup();
  [[nodiscard]] Result<void> Extend(std::uint32_t pcr, const Sha256& digest);
  // TPM2_HierarchyControl(platform, NO): until the next TPM reset nothing (the guest's firmware
  // included) can use the platform hierarchy: no EPS change, no platform NV, no PCR policy.
  [[nodiscard]] Result<void> DisablePlatformHierarchy();
  [[nodiscard]] Result<std::vector<Sha256>> ReadPcrs(std::span<const std::uint32_t> pcrs);
  // The ECC P-256 EK of the TCG template (deterministic from the endorsement seed), made
  // persistent at kEkPersistentHandle; returns its public key as DER SubjectPublicKeyInfo.
  [[nodiscard]] Result<std::vector<std::uint8_t>> CreateEndorsementKey();
  // The certificate (DER) in NV index kEkCertificateIndex, defined and write-locked with the
  // platform hierarchy's authorization (a guest's TPM2_Clear keeps it).
  [[nodiscard]] Result<void> StoreEkCertificate(std::span<const std::uint8_t> der);
  // The AK: a restricted ECDSA-P256/SHA-256 signing primary key of the endorsement hierarchy,
  // the same key each time it is created (same seed, same template). DER SPKI.
  [[nodiscard]] Result<std::vector<std::uint8_t>> AttestationKeyPublic();
  // TPM2_Quote of the sha256 bank's `pcrs` with the AK, `nonce` as qualifying data (≤ 64 bytes).
  [[nodiscard]] Result<Quote> QuotePcrs(std::span<const std::uint8_t> nonce,
                                        std::span<const std::uint32_t> pcrs);

 private:
  struct Impl;
  explicit Tpm(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// SHA-256 of bytes (OpenSSL).
Sha256 Sha256Of(std::span<const std::uint8_t> bytes);
Sha256 Sha256Of(std::string_view text);

}  // namespace shype::vtpm
