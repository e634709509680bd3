// SPDX-License-Identifier: Apache-2.0
//
// Service + verifier with a real swtpm: manufacture once, attest, verify; and every way a
// verification must fail: a tampered log, a wrong nonce, another label expected, a quote of
// another domain's vTPM, a certificate of another CA, and bad input naming its file.
#include "shype/vtpm/attestation.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <future>

#include "shype/common/file.h"
#include "shype/vtpm/service.h"
#include "vtpm_test_util.h"

namespace shype::vtpm {
namespace {

using testing::FakeQemu;

struct Booted {
  std::shared_ptr<Instance> instance;
  std::unique_ptr<FakeQemu> qemu;
};

class AttestationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveSwtpm()) GTEST_SKIP() << "swtpm is not installed (apt-get install swtpm)";
    dir_ = testing::MakeTempDir("attest");
    ASSERT_FALSE(dir_.empty());
    service_ = std::make_unique<Service>(dir_ / "vtpm");
  }
  void TearDown() override {
    service_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  Booted Boot(const std::string& domain, const std::string& label) {
    LaunchInputs in;
    in.domain = domain;
    in.record = LaunchRecord{domain, label, "shype-test", "1.0", "ab", {"ste_" + domain}, {}, ""};
    in.cmdline = "console=ttyS0 shype.label=" + label;
    in.kernel = Sha256Of("kernel bytes");
    in.initrd = Sha256Of("initrd bytes");
    in.log_file = dir_ / (domain + ".log");
    auto started = service_->Start(in);
    EXPECT_TRUE(started) << (started ? "" : started.error().message);
    Booted b;
    if (!started) return b;
    b.instance = *started;
    b.qemu = std::make_unique<FakeQemu>(b.instance->TakeQemuEnd());
    EXPECT_EQ(b.qemu->Boot(), 0U);
    return b;
  }
  Result<Attestation> Attest(const std::string& domain, std::vector<std::uint8_t> nonce) {
    std::promise<Result<Attestation>> p;
    service_->Attest(domain, std::move(nonce),
                     [&](Result<Attestation> a) { p.set_value(std::move(a)); });
    return p.get_future().get();
  }
  std::filesystem::path Write(const Attestation& a, const std::string& name) {
    const auto out = dir_ / name;
    std::filesystem::create_directories(out);
    EXPECT_TRUE(WriteFileAtomic(out / kQuoteMessageFile, a.quote.attest));
    EXPECT_TRUE(WriteFileAtomic(out / kQuoteSignatureFile, a.quote.signature));
    EXPECT_TRUE(WriteFileAtomic(out / kEventLogFile, a.event_log));
    EXPECT_TRUE(WriteFileAtomic(out / kAkCertificateFile, a.ak_certificate));
    EXPECT_TRUE(WriteFileAtomic(out / "ca.pem", a.ca_certificate));
    return out;
  }
  VerifyRequest Request(const std::filesystem::path& out, std::vector<std::uint8_t> nonce) {
    VerifyRequest r;
    r.dir = out;
    r.ca = out / "ca.pem";
    r.nonce = std::move(nonce);
    return r;
  }
  std::filesystem::path dir_;
  std::unique_ptr<Service> service_;
  const std::vector<std::uint8_t> nonce_{1, 2, 3, 4, 5, 6, 7, 8};
};

TEST_F(AttestationTest, AQuoteOfTheMeasuredLaunchVerifies) {
  auto b = Boot("bank", "dom_bank");
  auto a = Attest("bank", nonce_);
  ASSERT_TRUE(a) << a.error().message;
  auto req = Request(Write(*a, "ok"), nonce_);
  req.expect_label = "dom_bank";
  req.expect_policy = "shype-test";
  auto report = VerifyAttestation(req);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->record.label, "dom_bank");
  EXPECT_EQ(report->record.domain, "bank");
  EXPECT_TRUE(report->nonce_checked);
  EXPECT_EQ(*report->kernel, Sha256Of("kernel bytes"));
  // The PCRs the guest reads are the replayed log.
  auto pcrs = b.qemu->tpm->ReadPcrs(kMeasuredPcrs);
  ASSERT_TRUE(pcrs);
  auto log = ParseEventLog(a->event_log);
  ASSERT_TRUE(log);
  const auto replayed = Replay(*log);
  for (std::size_t i = 0; i < replayed.size(); ++i) EXPECT_EQ((*pcrs)[i], replayed[i]);
}

TEST_F(AttestationTest, ATamperedLogFails) {
  auto b = Boot("bank", "dom_bank");
  auto a = Attest("bank", nonce_);
  ASSERT_TRUE(a);
  // Claim another label: the record's digest is recomputed so the log itself stays consistent.
  LaunchRecord forged{"bank", "dom_game", "shype-test", "1.0", "ab", {"ste_bank"}, {}, ""};
  auto log = ParseEventLog(a->event_log);
  ASSERT_TRUE(log);
  forged.vtpm = ParseLaunchRecord(*log->events[0].data)->vtpm;
  log->events[0].data = LaunchRecordJson(forged);
  log->events[0].digest = Sha256Of(*log->events[0].data);
  a->event_log = EventLogJson(*log);
  auto r = VerifyAttestation(Request(Write(*a, "tampered"), nonce_));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("does not match the quoted PCRs"), std::string::npos)
      << r.error().message;
}

TEST_F(AttestationTest, AWrongNonceFails) {
  auto b = Boot("bank", "dom_bank");
  auto a = Attest("bank", nonce_);
  ASSERT_TRUE(a);
  auto r = VerifyAttestation(Request(Write(*a, "nonce"), {9, 9, 9}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("nonce"), std::string::npos);
}

TEST_F(AttestationTest, AnotherExpectedLabelFails) {
  auto b = Boot("bank", "dom_bank");
  auto a = Attest("bank", nonce_);
  ASSERT_TRUE(a);
  auto req = Request(Write(*a, "label"), nonce_);
  req.expect_label = "dom_game";
  auto r = VerifyAttestation(req);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'dom_bank', not 'dom_game'"), std::string::npos);
}

TEST_F(AttestationTest, AnotherExpectedDomainFails) {
  auto b = Boot("bank", "dom_bank");
  auto a = Attest("bank", nonce_);
  ASSERT_TRUE(a);
  auto req = Request(Write(*a, "domain"), nonce_);
  req.expect_domain = "bank";
  EXPECT_TRUE(VerifyAttestation(req));
  req.expect_domain = "game";
  auto r = VerifyAttestation(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("'bank', not 'game'"), std::string::npos) << r.error().message;
}

TEST_F(AttestationTest, AQuoteFromAnotherDomainsVtpmFails) {
  auto bank = Boot("bank", "dom_bank");
  auto game = Boot("game", "dom_game");
  auto a = Attest("bank", nonce_);
  auto g = Attest("game", nonce_);
  ASSERT_TRUE(a && g);
  a->quote = g->quote;  // the game's quote presented with the bank's AK certificate and log
  auto r = VerifyAttestation(Request(Write(*a, "swapped"), nonce_));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("signature"), std::string::npos) << r.error().message;
}

TEST_F(AttestationTest, ACertificateOfAnotherCaFails) {
  auto b = Boot("bank", "dom_bank");
  auto a = Attest("bank", nonce_);
  ASSERT_TRUE(a);
  auto other = HostCa::OpenOrCreate(dir_ / "other-ca");
  ASSERT_TRUE(other);
  a->ca_certificate = (*other)->certificate_pem();
  auto r = VerifyAttestation(Request(Write(*a, "otherca"), nonce_));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("does not chain"), std::string::npos) << r.error().message;
}

TEST_F(AttestationTest, BadInputNamesTheFile) {
  auto b = Boot("bank", "dom_bank");
  auto a = Attest("bank", nonce_);
  ASSERT_TRUE(a);
  const auto out = Write(*a, "bad");
  struct Case {
    std::string_view file;
    std::string content;
    std::string_view says;
  };
  const std::string msg(a->quote.attest.begin(), a->quote.attest.end());
  for (const Case& c : {Case{kEventLogFile,
                             "{\"format\": \"shype-eventlog\", \"version\": 1, "
                             "\"hash\": \"sha256\", \"events\": [{}]}",
                             "event 0"},
                        Case{kQuoteMessageFile, msg.substr(0, msg.size() / 2), "truncated"},
                        Case{kAkCertificateFile, "garbage", "not a PEM"},
                        Case{kQuoteSignatureFile, "\x00\x18", "TPMT_SIGNATURE"}}) {
    const auto dir = dir_ / ("bad-" + std::string(c.file));
    std::filesystem::create_directories(dir);
    std::filesystem::copy(out, dir,
                          std::filesystem::copy_options::overwrite_existing |
                              std::filesystem::copy_options::recursive);
    ASSERT_TRUE(WriteFileAtomic(dir / c.file, c.content));
    auto r = VerifyAttestation(Request(dir, nonce_));
    ASSERT_FALSE(r) << c.file;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
    EXPECT_NE(r.error().message.find(std::string(c.file)), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(std::string(c.says)), std::string::npos) << r.error().message;
  }
}

TEST_F(AttestationTest, TheVtpmIsManufacturedOnceAndKeepsItsAk) {
  auto b = Boot("bank", "dom_bank");
  auto first = service_->store().Find("bank");
  ASSERT_TRUE(first && *first);
  b.instance.reset();
  b.qemu.reset();
  service_->Stop("bank");
  auto again = Boot("bank", "dom_bank");
  auto second = service_->store().Find("bank");
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*first)->uuid, (*second)->uuid);
  EXPECT_EQ((*first)->ak_public, (*second)->ak_public);
  EXPECT_EQ((*second)->label, "dom_bank");
}

TEST_F(AttestationTest, TheStateOnDiskIsEncrypted) {
  auto b = Boot("bank", "dom_bank");
  b.instance.reset();
  service_->Stop("bank");
  auto state = ReadFileBounded(service_->store().TpmDir("bank") / "tpm2-00.permall", 1 << 20);
  ASSERT_TRUE(state) << state.error().message;
  // Manufacture wrote the EK certificate into NV index 0x01c0000a; swtpm keeps NV data in the
  // state file, verbatim when the file is not encrypted (checked by hand with tpm2_nvwrite).
  const std::string pem = (*service_->store().Find("bank"))->ek_certificate;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  ASSERT_TRUE(cert);
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert.get(), &der);
  ASSERT_GT(n, 64);
  const std::string plain(reinterpret_cast<const char*>(der) + n - 64, 64);  // its signature
  OPENSSL_free(der);
  EXPECT_EQ(std::string(state->begin(), state->end()).find(plain), std::string::npos)
      << "the EK certificate stored in NV is readable in the state file";
  const auto key = ReadTextFileBounded(service_->store().root() / "state.key", 1024);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 65U);  // 256 bits in hex and a newline
}

TEST_F(AttestationTest, DestroyRemovesTheStateAndRefusesWhileRunning) {
  auto b = Boot("bank", "dom_bank");
  EXPECT_EQ(service_->Destroy("bank").error().code, ErrorCode::kConflict);
  b.instance.reset();
  service_->Stop("bank");
  ASSERT_TRUE(service_->Destroy("bank"));
  EXPECT_FALSE(std::filesystem::exists(service_->store().TpmDir("bank")));
  auto gone = service_->store().Find("bank");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(service_->Destroy("bank").error().code, ErrorCode::kNotFound);
}

// A domain configuration's command line may hold any byte ("\xff" is a valid escape): one that
// is not UTF-8 has no event log (JSON strings are UTF-8), so its launch is refused, not measured
// into a vTPM that can never be attested (json::type_error out of Attest).
TEST_F(AttestationTest, ACommandLineThatIsNotUtf8IsRefusedAtStart) {
  LaunchInputs in;
  in.domain = "bank";
  in.record = LaunchRecord{"bank", "dom_bank", "shype-test", "1.0", "ab", {}, {}, ""};
  in.cmdline = "console=ttyS0 \xff\xfe";
  in.kernel = Sha256Of("kernel bytes");
  in.log_file = dir_ / "bank.log";
  Result<std::shared_ptr<Instance>> started = Fail(ErrorCode::kInternal, "not started");
  EXPECT_NO_THROW(started = service_->Start(in));
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::kInvalidArgument) << started.error().message;
  EXPECT_EQ(service_->Running("bank"), nullptr);
}

}  // namespace
}  // namespace shype::vtpm

namespace shype::vtpm {
namespace {

// Found by fuzz/attestation_fuzz.cc: a member of the wrong type threw instead of being refused.
TEST(EventLogTest, FieldsOfTheWrongTypeAreBadInputNotAThrow) {
  for (const char* bad :
       {R"({"format": 2, "version": 1, "hash": "sha256", "events": []})",
        R"({"format": "shype-eventlog", "version": 1, "hash": 7, "events": []})",
        R"({"format": "shype-eventlog", "version": "1", "hash": "sha256"})",
        R"({"format": ["shype-eventlog"]})",
        R"({"format": "shype-eventlog", "version": 1, "hash": null})",
        R"({"format": "shype-eventlog", "version": 1, "hash": {}})", R"([1, 2])", R"("x")"}) {
    Result<EventLog> r = Fail(ErrorCode::kInternal, "not parsed");
    EXPECT_NO_THROW(r = ParseEventLog(bad)) << bad;
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(EventLogTest, ALaunchLogRoundTripsAndReplays) {
  LaunchRecord record{"bank", "CustomerA", "p", "1.0", "00", {"a"}, {}, "u"};
  const EventLog log = MakeLaunchLog(record, "console=ttyS0", Sha256Of("k"), std::nullopt);
  auto parsed = ParseEventLog(EventLogJson(log));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->events.size(), 3U);
  EXPECT_EQ(Replay(*parsed), Replay(log));
  // Out of order, or twice: refused.
  EventLog twice = log;
  twice.events.push_back(log.events[2]);
  auto refused = ParseEventLog(EventLogJson(twice));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("event 3"), std::string::npos) << refused.error().message;
  // A kernel's digest presented as an initrd's (both extend PCR 9 alike): refused.
  EventLog renamed = log;
  renamed.events[2].type = "initrd";
  auto initrd_only = ParseEventLog(EventLogJson(renamed));
  ASSERT_FALSE(initrd_only);
  EXPECT_NE(initrd_only.error().message.find("no kernel before it"), std::string::npos)
      << initrd_only.error().message;
}

}  // namespace
}  // namespace shype::vtpm
