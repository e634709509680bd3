// SPDX-License-Identifier: Apache-2.0
//
// Service: shyped's vTPMs — the store, the host CA, and the instance of each running domain.
// Start manufactures a domain's vTPM the first time (EK + certificate in NV, AK, both certified
// by the host CA, bound to the domain's label), then runs it with the launch to measure; Attest
// quotes it. Which label may use a vTPM is the ACM's decision (resource kind vtpm), asked before
// Start. Called from one thread (shyped's io thread); Attest's callback runs on the vTPM's relay
// thread.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shype/common/result.h"
#include "shype/vtpm/event_log.h"
#include "shype/vtpm/host_ca.h"
#include "shype/vtpm/instance.h"
#include "shype/vtpm/store.h"

namespace shype::vtpm {

struct LaunchInputs {
  std::string domain;
  LaunchRecord record;  // all but `vtpm`, which Start fills in
  std::optional<std::string> cmdline;
  std::optional<Digest> kernel;
  std::optional<Digest> initrd;
  std::filesystem::path log_file;  // swtpm's log
};

struct Attestation {
  Quote quote;
  std::vector<std::uint8_t> nonce;
  std::string event_log;  // EventLogJson
  std::string ak_certificate;
  std::string ak_public;
  std::string ek_certificate;
  std::string ca_certificate;
  std::vector<Sha256> pcrs;  // kMeasuredPcrs' values as read with the quote
};

class Service {
 public:
  // `root`: STATE/vtpm. Nothing is created before the first vTPM.
  explicit Service(std::filesystem::path root, std::filesystem::path swtpm = "swtpm");
  ~Service();

  const Store& store() const { return store_; }
  // The host CA's certificate (created on first use). Errors: kIo, kInvalidArgument.
  [[nodiscard]] Result<std::string> CaCertificate();
  // Starts the domain's vTPM (manufactured if it has none: bound to record.label). Errors: the
  // step that failed; kConflict when it runs already.
  [[nodiscard]] Result<std::shared_ptr<Instance>> Start(LaunchInputs inputs);
  std::shared_ptr<Instance> Running(const std::string& domain) const;
  void Stop(const std::string& domain);
  // Errors: kConflict (its domain runs), kNotFound, kIo.
  [[nodiscard]] Result<void> Destroy(const std::string& domain);
  // Quotes PCRs 7-9 of the running domain's vTPM with its AK over `nonce`.
  void Attest(const std::string& domain, std::vector<std::uint8_t> nonce,
              std::function<void(Result<Attestation>)> done);

 private:
  [[nodiscard]] Result<HostCa*> Ca();
  Store store_;
  std::filesystem::path swtpm_;
  std::unique_ptr<HostCa> ca_;
  std::map<std::string, std::shared_ptr<Instance>> running_;
};

}  // namespace shype::vtpm
