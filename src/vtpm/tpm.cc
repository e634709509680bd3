// SPDX-License-Identifier: Apache-2.0
//
// Tpm over ESAPI: each command's TSS2_RC decoded (libtss2-rc) into an error naming the command;
// every transient object created here is flushed before the call returns.
#include "shype/vtpm/tpm.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include <algorithm>
#include <cstring>

#include "fd_tcti.h"

namespace shype::vtpm {
namespace {

Error TssError(std::string_view what, TSS2_RC rc) {
  return Error{ErrorCode::kUnavailable,
               fmt::format("TPM2_{} failed: {} (0x{:x})", what, Tss2_RC_Decode(rc), rc)};
}

template <class T>
struct EsysFree {
  void operator()(T* p) const { Esys_Free(p); }
};
template <class T>
using EsysPtr = std::unique_ptr<T, EsysFree<T>>;

// TCG EK Credential Profile: the policy digest of PolicySecret(TPM_RH_ENDORSEMENT).
constexpr std::uint8_t kEkPolicy[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC, 0x8D, 0x46, 0xA5, 0xD7, 0x24,
    0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52, 0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA};

TPM2B_PUBLIC EkTemplate() {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  p.authPolicy.size = sizeof(kEkPolicy);
  std::memcpy(p.authPolicy.buffer, kEkPolicy, sizeof(kEkPolicy));
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
  p.parameters.eccDetail.symmetric.keyBits.aes = 128;
  p.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  p.unique.ecc.x.size = 32;  // the template's zero-filled unique field
  p.unique.ecc.y.size = 32;
  return t;
}

TPM2B_PUBLIC AkTemplate() {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

// An ECC P-256 public area as DER SubjectPublicKeyInfo (OpenSSL 3 EVP_PKEY_fromdata).
Result<std::vector<std::uint8_t>> EccPublicDer(const TPMT_PUBLIC& pub) {
  const auto& x = pub.unique.ecc.x;
  const auto& y = pub.unique.ecc.y;
  if (pub.type != TPM2_ALG_ECC || x.size != 32 || y.size != 32) {
    return Fail(ErrorCode::kInternal, "the TPM returned a key that is not ECC P-256");
  }
  std::uint8_t point[65];
  point[0] = 0x04;
  std::memcpy(point + 1, x.buffer, 32);
  std::memcpy(point + 33, y.buffer, 32);
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
      OSSL_PARAM_construct_end()};
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    return Fail(ErrorCode::kInternal, "OpenSSL refused the TPM's P-256 point");
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> owned(key, EVP_PKEY_free);
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  if (n <= 0) return Fail(ErrorCode::kInternal, "OpenSSL could not encode a public key");
  std::vector<std::uint8_t> out(der, der + n);
  OPENSSL_free(der);
  return out;
}

TPML_PCR_SELECTION Selection(std::span<const std::uint32_t> pcrs) {
  TPML_PCR_SELECTION sel{};
  sel.count = 1;
  sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
  sel.pcrSelections[0].sizeofSelect = 3;
  for (std::uint32_t pcr : pcrs) {
    if (pcr < 24) sel.pcrSelections[0].pcrSelect[pcr / 8] |= std::uint8_t(1U << (pcr % 8));
  }
  return sel;
}

}  // namespace

struct Tpm::Impl {
  std::unique_ptr<FdTcti> tcti;
  ESYS_CONTEXT* esys = nullptr;
  ~Impl() {
    if (esys != nullptr) Esys_Finalize(&esys);
  }
  Result<std::pair<ESYS_TR, EsysPtr<TPM2B_PUBLIC>>> CreatePrimary(const TPM2B_PUBLIC& tmpl,
                                                                  std::string_view what) {
    TPM2B_SENSITIVE_CREATE sensitive{};
    TPM2B_DATA outside{};
    TPML_PCR_SELECTION creation{};
    ESYS_TR handle = ESYS_TR_NONE;
    TPM2B_PUBLIC* out = nullptr;
    TSS2_RC rc = Esys_CreatePrimary(esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &sensitive, &tmpl, &outside, &creation, &handle,
                                    &out, nullptr, nullptr, nullptr);
    if (rc != TSS2_RC_SUCCESS) {
      return Fail(TssError(fmt::format("CreatePrimary ({})", what), rc));
    }
    return std::make_pair(handle, EsysPtr<TPM2B_PUBLIC>(out));
  }
};

Tpm::Tpm(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tpm::~Tpm() = default;

Result<std::unique_ptr<Tpm>> Tpm::Open(int fd) {
  auto impl = std::make_unique<Impl>();
  impl->tcti = MakeFdTcti(fd);
  TSS2_RC rc = Esys_Initialize(&impl->esys, AsTcti(*impl->tcti), nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    return Fail(ErrorCode::kInternal, "tpm2-tss ESAPI: {}", Tss2_RC_Decode(rc));
  }
  return std::unique_ptr<Tpm>(new Tpm(std::move(impl)));
}

Result<void> Tpm::Startup() {
  TSS2_RC rc = Esys_Startup(impl_->esys, TPM2_SU_CLEAR);
  if (rc != TSS2_RC_SUCCESS) return Fail(TssError("Startup", rc));
  return {};
}

Result<void> Tpm::Extend(std::uint32_t pcr, const Sha256& digest) {
  if (pcr > 23) return Fail(ErrorCode::kInvalidArgument, "PCR {} does not exist", pcr);
  TPML_DIGEST_VALUES values{};
  values.count = 1;
  values.digests[0].hashAlg = TPM2_ALG_SHA256;
  std::memcpy(values.digests[0].digest.sha256, digest.data(), digest.size());
  TSS2_RC rc = Esys_PCR_Extend(impl_->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &values);
  if (rc != TSS2_RC_SUCCESS) return Fail(TssError(fmt::format("PCR_Extend ({})", pcr), rc));
  return {};
}

Result<void> Tpm::DisablePlatformHierarchy() {
  TSS2_RC rc = Esys_HierarchyControl(impl_->esys, ESYS_TR_RH_PLATFORM, ESYS_TR_PASSWORD,
                                     ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_RH_PLATFORM, TPM2_NO);
  if (rc != TSS2_RC_SUCCESS) return Fail(TssError("HierarchyControl (platform)", rc));
  return {};
}

Result<std::vector<Sha256>> Tpm::ReadPcrs(std::span<const std::uint32_t> pcrs) {
  std::vector<Sha256> out;
  for (std::uint32_t pcr : pcrs) {  // one at a time: a reply holds at most 8 digests
    const std::uint32_t one[] = {pcr};
    TPML_PCR_SELECTION sel = Selection(one);
    UINT32 counter = 0;
    TPML_PCR_SELECTION* got_sel = nullptr;
    TPML_DIGEST* values = nullptr;
    TSS2_RC rc = Esys_PCR_Read(impl_->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
                               &counter, &got_sel, &values);
    EsysPtr<TPML_PCR_SELECTION> s(got_sel);
    EsysPtr<TPML_DIGEST> v(values);
    if (rc != TSS2_RC_SUCCESS) return Fail(TssError("PCR_Read", rc));
    if (v->count != 1 || v->digests[0].size != 32) {
      return Fail(ErrorCode::kUnavailable, "TPM2_PCR_Read returned no sha256 value of PCR {}", pcr);
    }
    Sha256 d{};
    std::memcpy(d.data(), v->digests[0].buffer, 32);
    out.push_back(d);
  }
  return out;
}

Result<std::vector<std::uint8_t>> Tpm::CreateEndorsementKey() {
  auto ek = impl_->CreatePrimary(EkTemplate(), "EK");
  if (!ek) return Fail(ek.error());
  auto der = EccPublicDer(ek->second->publicArea);
  ESYS_TR persistent = ESYS_TR_NONE;
  TSS2_RC rc = Esys_EvictControl(impl_->esys, ESYS_TR_RH_OWNER, ek->first, ESYS_TR_PASSWORD,
                                 ESYS_TR_NONE, ESYS_TR_NONE, kEkPersistentHandle, &persistent);
  (void)Esys_FlushContext(impl_->esys, ek->first);
  if (rc != TSS2_RC_SUCCESS) return Fail(TssError("EvictControl (EK)", rc));
  return der;
}

Result<void> Tpm::StoreEkCertificate(std::span<const std::uint8_t> der) {
  if (der.empty() || der.size() > 2048) {
    return Fail(ErrorCode::kInternal, "an EK certificate of {} bytes does not fit NV", der.size());
  }
  TPM2B_AUTH auth{};
  TPM2B_NV_PUBLIC pub{};
  pub.nvPublic.nvIndex = kEkCertificateIndex;
  pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
  pub.nvPublic.attributes = TPMA_NV_PPWRITE | TPMA_NV_PPREAD | TPMA_NV_OWNERREAD |
                            TPMA_NV_AUTHREAD | TPMA_NV_NO_DA | TPMA_NV_PLATFORMCREATE |
                            TPMA_NV_WRITEDEFINE;
  pub.nvPublic.dataSize = static_cast<UINT16>(der.size());
  ESYS_TR nv = ESYS_TR_NONE;
  TSS2_RC rc = Esys_NV_DefineSpace(impl_->esys, ESYS_TR_RH_PLATFORM, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                   ESYS_TR_NONE, &auth, &pub, &nv);
  if (rc != TSS2_RC_SUCCESS) return Fail(TssError("NV_DefineSpace (EK certificate)", rc));
  for (std::size_t off = 0; off < der.size(); off += 512) {
    TPM2B_MAX_NV_BUFFER chunk{};
    chunk.size = static_cast<UINT16>(std::min<std::size_t>(512, der.size() - off));
    std::memcpy(chunk.buffer, der.data() + off, chunk.size);
    rc = Esys_NV_Write(impl_->esys, ESYS_TR_RH_PLATFORM, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                       ESYS_TR_NONE, &chunk, static_cast<UINT16>(off));
    if (rc != TSS2_RC_SUCCESS) return Fail(TssError("NV_Write (EK certificate)", rc));
  }
  rc = Esys_NV_WriteLock(impl_->esys, ESYS_TR_RH_PLATFORM, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                         ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return Fail(TssError("NV_WriteLock (EK certificate)", rc));
  return {};
}

Result<std::vector<std::uint8_t>> Tpm::AttestationKeyPublic() {
  auto ak = impl_->CreatePrimary(AkTemplate(), "AK");
  if (!ak) return Fail(ak.error());
  auto der = EccPublicDer(ak->second->publicArea);
  (void)Esys_FlushContext(impl_->esys, ak->first);
  return der;
}

Result<Quote> Tpm::QuotePcrs(std::span<const std::uint8_t> nonce,
                             std::span<const std::uint32_t> pcrs) {
  if (nonce.size() > 64) return Fail(ErrorCode::kInvalidArgument, "a nonce is at most 64 bytes");
  auto ak = impl_->CreatePrimary(AkTemplate(), "AK");
  if (!ak) return Fail(ak.error());
  TPM2B_DATA qualifying{};
  qualifying.size = static_cast<UINT16>(nonce.size());
  std::copy(nonce.begin(), nonce.end(), qualifying.buffer);
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;  // the key's own: ECDSA-SHA256
  TPML_PCR_SELECTION sel = Selection(pcrs);
  TPM2B_ATTEST* quoted = nullptr;
  TPMT_SIGNATURE* signature = nullptr;
  TSS2_RC rc = Esys_Quote(impl_->esys, ak->first, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                          &qualifying, &scheme, &sel, &quoted, &signature);
  (void)Esys_FlushContext(impl_->esys, ak->first);
  EsysPtr<TPM2B_ATTEST> q(quoted);
  EsysPtr<TPMT_SIGNATURE> s(signature);
  if (rc != TSS2_RC_SUCCESS) return Fail(TssError("Quote", rc));
  Quote out;
  out.attest.assign(q->attestationData, q->attestationData + q->size);
  out.signature.resize(sizeof(TPMT_SIGNATURE));
  size_t offset = 0;
  rc = Tss2_MU_TPMT_SIGNATURE_Marshal(s.get(), out.signature.data(), out.signature.size(), &offset);
  if (rc != TSS2_RC_SUCCESS) return Fail(ErrorCode::kInternal, "could not marshal the signature");
  out.signature.resize(offset);
  return out;
}

Sha256 Sha256Of(std::span<const std::uint8_t> bytes) {
  Sha256 d{};
  SHA256(bytes.data(), bytes.size(), d.data());
  return d;
}

Sha256 Sha256Of(std::string_view text) {
  return Sha256Of(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace shype::vtpm
