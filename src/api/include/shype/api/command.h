// SPDX-License-Identifier: Apache-2.0
//
// The API's requests as typed commands, one struct per operation of api/endpoints.h (as
// Firecracker's VmmAction): shyped decodes each request once, at the edge, and routes the
// alternative; the CLI builds commands and encodes them, never an operation name. Pure;
// thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "shype/api/endpoints.h"
#include "shype/api/wire.h"

namespace shype::api {

// Each command names its operation (kOp, a row of Endpoints()); endpoints.cc checks at compile
// time that every endpoint has exactly one command and every command one endpoint. Field
// defaults are the API's defaults for an absent parameter.
struct GetVersion {
  static constexpr std::string_view kOp = "version";
  friend bool operator==(const GetVersion&, const GetVersion&) = default;
};
struct GetPolicy {
  static constexpr std::string_view kOp = "policy.get";
  friend bool operator==(const GetPolicy&, const GetPolicy&) = default;
};
struct SetPolicy {
  static constexpr std::string_view kOp = "policy.set";
  std::string xml;
  std::string source = "policy.xml";  // names the XML in the compiler's messages
  bool check_only = false;            // only check the update against the running system
  bool revoke = false;                // tear down the live sharings it forbids instead of refusing
  friend bool operator==(const SetPolicy&, const SetPolicy&) = default;
};
struct ResetPolicy {
  static constexpr std::string_view kOp = "policy.reset";
  friend bool operator==(const ResetPolicy&, const ResetPolicy&) = default;
};
struct DumpPolicy {
  static constexpr std::string_view kOp = "policy.dump";
  friend bool operator==(const DumpPolicy&, const DumpPolicy&) = default;
};
struct SavePolicy {
  static constexpr std::string_view kOp = "policy.save";
  std::string xml;
  std::string source = "policy.xml";  // names the XML in the compiler's messages
  friend bool operator==(const SavePolicy&, const SavePolicy&) = default;
};
struct ListPolicyVersions {
  static constexpr std::string_view kOp = "policy.versions";
  friend bool operator==(const ListPolicyVersions&, const ListPolicyVersions&) = default;
};
struct GetPolicyVersion {
  static constexpr std::string_view kOp = "policy.version.get";
  std::string name;
  std::string version;  // "major.minor"
  friend bool operator==(const GetPolicyVersion&, const GetPolicyVersion&) = default;
};
// What a policy means (docs/api.md policy.analyze): of `xml`, or without it of the active one.
struct AnalyzePolicy {
  static constexpr std::string_view kOp = "policy.analyze";
  std::optional<std::string> xml;     // absent: the active policy
  std::string source = "policy.xml";  // names the XML in messages and the reply
  friend bool operator==(const AnalyzePolicy&, const AnalyzePolicy&) = default;
};
// What replacing policy `old_xml` (absent: the active one) by `new_xml` changes, and the update's
// check-only run against the running host (setpolicy --check's violations).
struct DiffPolicies {
  static constexpr std::string_view kOp = "policy.diff";
  std::string new_xml;
  std::string new_source = "new.xml";
  std::optional<std::string> old_xml;  // absent: the active policy
  std::string old_source = "old.xml";
  friend bool operator==(const DiffPolicies&, const DiffPolicies&) = default;
};
struct ListLabels {
  static constexpr std::string_view kOp = "labels";
  std::string type = "dom";  // dom, res or any (checked by the admin service)
  std::string policy;        // empty: the active policy
  friend bool operator==(const ListLabels&, const ListLabels&) = default;
};
struct ListResources {
  static constexpr std::string_view kOp = "resources";
  friend bool operator==(const ListResources&, const ListResources&) = default;
};
struct GetResourceLabel {
  static constexpr std::string_view kOp = "resource.label.get";
  std::string resource;
  friend bool operator==(const GetResourceLabel&, const GetResourceLabel&) = default;
};
struct AddResourceLabel {
  static constexpr std::string_view kOp = "resource.label.add";
  std::string resource;
  std::string label;
  std::string policy;  // empty: the active policy
  friend bool operator==(const AddResourceLabel&, const AddResourceLabel&) = default;
};
struct RemoveResourceLabel {
  static constexpr std::string_view kOp = "resource.label.remove";
  std::string resource;
  friend bool operator==(const RemoveResourceLabel&, const RemoveResourceLabel&) = default;
};
struct DryRun {
  static constexpr std::string_view kOp = "dry-run";
  std::string config;           // the domain configuration's text
  std::string path = "config";  // its file name, for messages
  friend bool operator==(const DryRun&, const DryRun&) = default;
};
struct GetStats {
  static constexpr std::string_view kOp = "stats";
  friend bool operator==(const GetStats&, const GetStats&) = default;
};
struct ListDomains {
  static constexpr std::string_view kOp = "domain.list";
  friend bool operator==(const ListDomains&, const ListDomains&) = default;
};
struct CreateDomain {
  static constexpr std::string_view kOp = "domain.create";
  std::string config;
  std::string path = "config";
  friend bool operator==(const CreateDomain&, const CreateDomain&) = default;
};
struct GetDomainInfo {
  static constexpr std::string_view kOp = "domain.info";
  std::string name;
  friend bool operator==(const GetDomainInfo&, const GetDomainInfo&) = default;
};
struct ShutdownDomain {
  static constexpr std::string_view kOp = "domain.shutdown";
  std::string name;
  std::chrono::seconds timeout{30};  // decoded: 1..3600
  friend bool operator==(const ShutdownDomain&, const ShutdownDomain&) = default;
};
struct DestroyDomain {
  static constexpr std::string_view kOp = "domain.destroy";
  std::string name;
  friend bool operator==(const DestroyDomain&, const DestroyDomain&) = default;
};
struct PauseDomain {
  static constexpr std::string_view kOp = "domain.pause";
  std::string name;
  friend bool operator==(const PauseDomain&, const PauseDomain&) = default;
};
struct UnpauseDomain {
  static constexpr std::string_view kOp = "domain.unpause";
  std::string name;
  friend bool operator==(const UnpauseDomain&, const UnpauseDomain&) = default;
};
struct GetConsoleLog {
  static constexpr std::string_view kOp = "domain.console-log";
  std::string name;
  friend bool operator==(const GetConsoleLog&, const GetConsoleLog&) = default;
};
struct AttachNetwork {
  static constexpr std::string_view kOp = "domain.network-attach";
  std::string name;
  std::string vif;  // "vnet=NAME[,mac=52:54:00:..]", as a config's vif entry
  friend bool operator==(const AttachNetwork&, const AttachNetwork&) = default;
};
struct DetachNetwork {
  static constexpr std::string_view kOp = "domain.network-detach";
  std::string name;
  std::string vnet;  // every NIC of the domain on this network
  friend bool operator==(const DetachNetwork&, const DetachNetwork&) = default;
};
struct AttachRegion {
  static constexpr std::string_view kOp = "domain.shm-attach";
  std::string name;
  std::string shm;  // "name=NAME[,size=1M]", as a config's shm entry
  friend bool operator==(const AttachRegion&, const AttachRegion&) = default;
};
struct DetachRegion {
  static constexpr std::string_view kOp = "domain.shm-detach";
  std::string name;
  std::string region;
  friend bool operator==(const DetachRegion&, const DetachRegion&) = default;
};
struct AttachDisk {
  static constexpr std::string_view kOp = "domain.block-attach";
  std::string name;
  std::string resource;  // as in a config's disk entry: file:/img/a.img, phy:/dev/sdb, tap:qcow2:..
  std::string vdev;      // the guest's name for it: xvdb
  std::string mode;      // "r" (default) or "w"
  friend bool operator==(const AttachDisk&, const AttachDisk&) = default;
};
struct DetachDisk {
  static constexpr std::string_view kOp = "domain.block-detach";
  std::string name;
  std::string vdev;
  friend bool operator==(const DetachDisk&, const DetachDisk&) = default;
};
struct RelabelDomain {
  static constexpr std::string_view kOp = "domain.relabel";
  std::string name;    // a running domain's name or id, or Domain-0
  std::string label;   // a VM label of the enforced policy
  std::string policy;  // "" or the enforced policy's name
  friend bool operator==(const RelabelDomain&, const RelabelDomain&) = default;
};
// Suspends a running or paused domain into a new image file (an absolute path shyped creates; an
// existing file is never overwritten) and ends it; only root may ask (shyped writes the file).
struct SaveDomain {
  static constexpr std::string_view kOp = "domain.save";
  std::string name;
  std::string file;
  friend bool operator==(const SaveDomain&, const SaveDomain&) = default;
};
// Starts the domain a save image holds, after every check create makes (under the policy and
// resource labels in force now); only root may ask.
struct RestoreDomain {
  static constexpr std::string_view kOp = "domain.restore";
  std::string file;
  friend bool operator==(const RestoreDomain&, const RestoreDomain&) = default;
};
struct ListRegions {
  static constexpr std::string_view kOp = "shm.list";
  friend bool operator==(const ListRegions&, const ListRegions&) = default;
};
struct ListNetworks {
  static constexpr std::string_view kOp = "vnet.list";
  friend bool operator==(const ListNetworks&, const ListNetworks&) = default;
};
struct GetNetworkInfo {
  static constexpr std::string_view kOp = "vnet.info";
  std::string name;
  friend bool operator==(const GetNetworkInfo&, const GetNetworkInfo&) = default;
};
// The vTPMs (docs/vtpm.md): list, the host CA's certificate, secure removal, and a quote.
struct ListVtpms {
  static constexpr std::string_view kOp = "vtpm.list";
  friend bool operator==(const ListVtpms&, const ListVtpms&) = default;
};
struct GetVtpmCa {
  static constexpr std::string_view kOp = "vtpm.ca";
  friend bool operator==(const GetVtpmCa&, const GetVtpmCa&) = default;
};
struct DestroyVtpm {
  static constexpr std::string_view kOp = "vtpm.destroy";
  std::string name;  // the domain's
  friend bool operator==(const DestroyVtpm&, const DestroyVtpm&) = default;
};
struct AttestDomain {
  static constexpr std::string_view kOp = "domain.attest";
  std::string name;
  std::string nonce;  // decoded: 0..64 bytes as hex (empty: shyped picks 32 random bytes)
  friend bool operator==(const AttestDomain&, const AttestDomain&) = default;
};
struct ReadAudit {
  static constexpr std::string_view kOp = "audit";
  std::uint32_t tail = 100;  // decoded: 0..1000000 past records
  bool follow = false;       // keep streaming new records
  friend bool operator==(const ReadAudit&, const ReadAudit&) = default;
};

using Command =
    std::variant<GetVersion, GetPolicy, SetPolicy, ResetPolicy, DumpPolicy, SavePolicy,
                 ListPolicyVersions, GetPolicyVersion, AnalyzePolicy, DiffPolicies, ListLabels,
                 ListResources, GetResourceLabel, AddResourceLabel, RemoveResourceLabel, DryRun,
                 GetStats, ListDomains, CreateDomain, GetDomainInfo, ShutdownDomain, DestroyDomain,
                 PauseDomain, UnpauseDomain, GetConsoleLog, AttachNetwork, DetachNetwork,
                 AttachRegion, DetachRegion, AttachDisk, DetachDisk, RelabelDomain, SaveDomain,
                 RestoreDomain, ListRegions, ListNetworks, GetNetworkInfo, ReadAudit, ListVtpms,
                 GetVtpmCa, DestroyVtpm, AttestDomain>;

// Decodes the parameters of a request to `endpoint` (body fields, query values and path
// parameters merged into one object). Unknown fields are ignored. Errors: kInvalidArgument
// naming the field and what was expected ("field 'name' is missing (a string is expected)").
[[nodiscard]] Result<Command> DecodeCommand(const Endpoint& endpoint, const Json& params);

// The endpoint of `command` and its parameters, as DecodeCommand reads them back (path
// parameters included; BuildTarget moves them into the path).
struct EncodedCommand {
  Endpoint endpoint;
  Json params;
};
EncodedCommand EncodeCommand(const Command& command);

// For std::visit over a Command: one lambda per alternative.
template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

// The operation name of `command` (its endpoint's op), for messages.
std::string_view OpOf(const Command& command);

}  // namespace shype::api
