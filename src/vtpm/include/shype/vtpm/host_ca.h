// SPDX-License-Identifier: Apache-2.0
//
// HostCa: the host's shype CA (the role swtpm_localca plays for libvirt): an ECDSA P-256 key and
// a self-signed certificate, created on first use (the key file 0600), that certifies each vTPM's
// EK and AK so a remote party can tell this host's vTPMs from any other TPM. Thread-compatible.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/result.h"

namespace shype::vtpm {

enum class KeyRole { kEndorsement, kAttestation };

struct IssuedCertificate {
  std::string pem;
  std::vector<std::uint8_t> der;
};

// A DER SubjectPublicKeyInfo as PEM ("-----BEGIN PUBLIC KEY-----"). Errors: kInvalidArgument.
[[nodiscard]] Result<std::string> PublicKeyPem(std::span<const std::uint8_t> spki_der);

class HostCa {
 public:
  // `dir` (created 0700) holds ca.pem and ca-key.pem. Errors: kIo, kInvalidArgument (a damaged
  // key or certificate file: it is never silently replaced, vTPM certificates depend on it).
  [[nodiscard]] static Result<std::unique_ptr<HostCa>> OpenOrCreate(
      const std::filesystem::path& dir);
  ~HostCa();
  HostCa(const HostCa&) = delete;
  HostCa& operator=(const HostCa&) = delete;

  const std::string& certificate_pem() const { return certificate_pem_; }
  // A certificate for the key `spki_der` with subject O=shype, OU=`unit`, CN=`name`.
  [[nodiscard]] Result<IssuedCertificate> Issue(std::span<const std::uint8_t> spki_der,
                                                std::string_view name, std::string_view unit,
                                                KeyRole role) const;

 private:
  struct Keys;
  HostCa(std::unique_ptr<Keys> keys, std::string pem);
  std::unique_ptr<Keys> keys_;
  std::string certificate_pem_;
};

}  // namespace shype::vtpm
