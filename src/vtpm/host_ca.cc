// SPDX-License-Identifier: Apache-2.0
//
// The host CA with OpenSSL 3: key generation (EVP_EC_gen), X.509 v3 certificates with
// basicConstraints, keyUsage and key identifiers; files written atomically.
#include "shype/vtpm/host_ca.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shype/common/file.h"

namespace shype::vtpm {
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

constexpr long kTenYears = 10L * 365 * 24 * 3600;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool SetName(X509_NAME* name, std::string_view cn, std::string_view ou) {
  auto add = [&](const char* field, std::string_view v) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(v.data()),
                                      static_cast<int>(v.size()), -1, 0) == 1;
  };
  return add("O", "shype") && (ou.empty() || add("OU", ou)) && add("CN", cn);
}

Result<X509Ptr> NewCertificate(EVP_PKEY* subject_key, std::string_view cn, std::string_view ou) {
  X509Ptr cert(X509_new());
  unsigned char serial[16];
  if (!cert || RAND_bytes(serial, sizeof(serial)) != 1) {
    return Fail(ErrorCode::kInternal, "OpenSSL could not start a certificate");
  }
  serial[0] &= 0x7f;  // a positive INTEGER
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  const bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) &&
                  X509_set_version(cert.get(), 2) == 1 &&
                  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) &&
                  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kTenYears) &&
                  X509_set_pubkey(cert.get(), subject_key) == 1 &&
                  SetName(X509_get_subject_name(cert.get()), cn, ou);
  BN_free(bn);
  if (!ok) return Fail(ErrorCode::kInternal, "OpenSSL could not fill a certificate");
  return cert;
}

Result<std::string> ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return Fail(ErrorCode::kInternal, "OpenSSL could not write a certificate");
  }
  return BioText(bio.get());
}

}  // namespace

struct HostCa::Keys {
  KeyPtr key;
  X509Ptr cert;
};

HostCa::HostCa(std::unique_ptr<Keys> keys, std::string pem)
    : keys_(std::move(keys)), certificate_pem_(std::move(pem)) {}
HostCa::~HostCa() = default;

// Long: load-or-create with every OpenSSL step checked; one flow reads best in one place.
Result<std::unique_ptr<HostCa>> HostCa::OpenOrCreate(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) {
    return Fail(ErrorCode::kIo, "cannot create the host CA directory {}", dir.string());
  }
  const auto key_path = dir / "ca-key.pem";
  const auto cert_path = dir / "ca.pem";
  auto keys = std::make_unique<Keys>();
  if (std::filesystem::exists(key_path, ec)) {
    auto key_text = ReadTextFileBounded(key_path, 64 * 1024);
    auto cert_text = ReadTextFileBounded(cert_path, 64 * 1024);
    if (!key_text || !cert_text) {
      return Fail(ErrorCode::kInvalidArgument, "the host CA in {} is incomplete: {}", dir.string(),
                  (!key_text ? key_text.error() : cert_text.error()).message);
    }
    BioPtr kb(BIO_new_mem_buf(key_text->data(), static_cast<int>(key_text->size())));
    BioPtr cb(BIO_new_mem_buf(cert_text->data(), static_cast<int>(cert_text->size())));
    keys->key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    keys->cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!keys->key || !keys->cert ||
        X509_check_private_key(keys->cert.get(), keys->key.get()) != 1) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the host CA in {} is damaged (its key and certificate do not load or match)",
                  dir.string());
    }
    return std::unique_ptr<HostCa>(new HostCa(std::move(keys), *cert_text));
  }
  keys->key.reset(EVP_EC_gen("P-256"));
  if (!keys->key) return Fail(ErrorCode::kInternal, "OpenSSL could not generate the CA key");
  char host[256] = "host";
  (void)::gethostname(host, sizeof(host) - 1);
  auto cert = NewCertificate(keys->key.get(), fmt::format("shype host CA {}", host), "vtpm-ca");
  if (!cert) return Fail(cert.error());
  keys->cert = std::move(*cert);
  X509* c = keys->cert.get();
  if (X509_set_issuer_name(c, X509_get_subject_name(c)) != 1 ||
      !AddExtension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !AddExtension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !AddExtension(c, c, NID_subject_key_identifier, "hash") ||
      X509_sign(c, keys->key.get(), EVP_sha256()) <= 0) {
    return Fail(ErrorCode::kInternal, "OpenSSL could not sign the CA certificate");
  }
  BioPtr kb(BIO_new(BIO_s_mem()));
  if (!kb || PEM_write_bio_PrivateKey(kb.get(), keys->key.get(), nullptr, nullptr, 0, nullptr,
                                      nullptr) != 1) {
    return Fail(ErrorCode::kInternal, "OpenSSL could not write the CA key");
  }
  auto pem = ToPem(c);
  if (!pem) return Fail(pem.error());
  if (auto w = WriteFileAtomic(cert_path, *pem, 0644); !w) return Fail(w.error());
  if (auto w = WriteFileAtomic(key_path, BioText(kb.get()), 0600); !w) return Fail(w.error());
  return std::unique_ptr<HostCa>(new HostCa(std::move(keys), std::move(*pem)));
}

Result<std::string> PublicKeyPem(std::span<const std::uint8_t> spki_der) {
  const unsigned char* p = spki_der.data();
  KeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!key || !bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return Fail(ErrorCode::kInvalidArgument, "not a DER public key");
  }
  return BioText(bio.get());
}

Result<IssuedCertificate> HostCa::Issue(std::span<const std::uint8_t> spki_der,
                                        std::string_view name, std::string_view unit,
                                        KeyRole role) const {
  const unsigned char* p = spki_der.data();
  KeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!key) return Fail(ErrorCode::kInvalidArgument, "not a DER public key");
  auto cert = NewCertificate(key.get(), name, unit);
  if (!cert) return Fail(cert.error());
  X509* c = cert->get();
  const char* usage =
      role == KeyRole::kAttestation ? "critical,digitalSignature" : "critical,keyAgreement";
  if (X509_set_issuer_name(c, X509_get_subject_name(keys_->cert.get())) != 1 ||
      !AddExtension(c, keys_->cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(c, keys_->cert.get(), NID_key_usage, usage) ||
      !AddExtension(c, keys_->cert.get(), NID_authority_key_identifier, "keyid:always") ||
      X509_sign(c, keys_->key.get(), EVP_sha256()) <= 0) {
    return Fail(ErrorCode::kInternal, "OpenSSL could not sign a vTPM certificate");
  }
  auto pem = ToPem(c);
  if (!pem) return Fail(pem.error());
  IssuedCertificate out{std::move(*pem), {}};
  unsigned char* der = nullptr;
  const int n = i2d_X509(c, &der);
  if (n <= 0) return Fail(ErrorCode::kInternal, "OpenSSL could not encode a certificate");
  out.der.assign(der, der + n);
  OPENSSL_free(der);
  return out;
}

}  // namespace shype::vtpm
