// SPDX-License-Identifier: Apache-2.0
//
// Acm is shype's reference monitor (Xen ACM, spec-acm §4-§5): it holds the active policy as an
// immutable snapshot, the running domains and their ssidrefs, the Chinese Wall counters and the
// live sharings, and answers one hook per mediated operation. Denials are audited.
// Thread-safe. CheckShare/CheckResourceAccess never take a lock (seqlock + retained snapshots +
// lock-free cache); every other member serializes on one mutex. No I/O. The snapshot, the domain
// index, the decision cache and the Chinese Wall counters are private to src/acm.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "shype/acm/audit.h"
#include "shype/acm/loaded_policy.h"
#include "shype/acm/sharing.h"
#include "shype/acm/types.h"
#include "shype/acm/update.h"
#include "shype/acm/verdict.h"
#include "shype/common/result.h"

namespace shype::acm {

// A domain admitted with its resources: the verdict, and on permit the sharings recorded for it
// (one per resource, in the order given).
struct [[nodiscard]] Admission {
  Verdict verdict;
  std::vector<SharingId> sharings;
};

// A live relabel's outcome: the verdict (the first rule that refused, its reason naming every
// violation) and each violation found, of every kind (Chinese Wall pairs, broken sharings).
struct [[nodiscard]] Relabel {
  Verdict verdict;
  std::vector<Violation> violations;
};

// A domain the relabeled one shares with outside the monitor's sharings: one that may still map
// a region's memory after it left it (shm::Regions' lingering peers, whose pair sharings ended).
// A relabel re-checks it as it re-checks a live peer sharing.
struct RelabelPeer {
  DomainId peer{0};
  std::string what;  // names what they share in a refusal: "the memory of region 'x'"
};

struct DomainInfo {
  DomainId id{0};
  Ssidref ssidref = kInvalidSsidref;
  std::string label;
  friend bool operator==(const DomainInfo&, const DomainInfo&) = default;
};

// Per hook: evaluations = decisions computed (cache misses), as Xen's *_eval_count;
// denials = all denials, cached or not; cache_hits = decisions answered by the cache.
struct HookStats {
  std::uint64_t evaluations = 0;
  std::uint64_t denials = 0;
  std::uint64_t cache_hits = 0;
  friend bool operator==(const HookStats&, const HookStats&) = default;
};
struct AcmStats {
  std::array<HookStats, kHookCount> hooks{};
  const HookStats& of(Hook hook) const { return hooks[static_cast<std::size_t>(hook)]; }
};

class Acm {
 public:
  // `clock` and `audit` must outlive the Acm. With no policy loaded every hook denies.
  Acm(const Clock& clock, AuditSink& audit);
  Acm(const Acm&) = delete;
  Acm& operator=(const Acm&) = delete;
  ~Acm();

  // Loads a policy while nothing but Domain-0 runs; Domain-0 gets the bootstrap label.
  // Errors: kPolicyInvalid (inconsistent binary/map), kConflict (other domains or sharings live).
  [[nodiscard]] Result<PolicySeqno> LoadPolicy(policy::BinaryPolicy binary,
                                               policy::LabelMap labels);
  // Checks a new policy against everything running and commits it or not, per request.mode.
  // Violations are reported in the UpdateReport (committed=false, nothing changed); errors are
  // kUnavailable (no policy loaded) and kPolicyInvalid (inconsistent binary/map).
  [[nodiscard]] Result<UpdateReport> UpdatePolicy(UpdateRequest request);
  // The same check as UpdatePolicy, kept for a later Commit; nothing changes. A refusal of a
  // committing request (mode other than kCheckOnly) is audited here, as the caller stops there;
  // a check-only request audits nothing. Errors: as UpdatePolicy.
  [[nodiscard]] Result<PreparedUpdate> PrepareUpdate(UpdateRequest request);
  // Commits a prepared update: re-checks it with its snapshot against what runs now (domains may
  // have come or gone) and commits iff that passes, per its mode (kCheckOnly counts as kCommit);
  // a refusal is audited. Errors: kConflict when another policy was committed since it was
  // prepared (prepare it again).
  [[nodiscard]] Result<UpdateReport> Commit(PreparedUpdate prepared);
  // The active policy: name, version, labels and their ssidrefs (nullopt before the first load).
  std::optional<LoadedPolicy> active_policy() const;
  // xm dumppolicy of the active policy, with the live Chinese Wall running types and conflict
  // aggregate (as Xen's getpolicy buffer); empty before the first load.
  std::string DumpPolicy() const;

  // Admits a domain (the label rules: a VM row, not __NULL_LABEL__, an STE VM row; then CHWALL
  // admission + counters) and records it as running. Unknown ssidref, duplicate id -> deny.
  Verdict CheckDomainCreate(DomainId domain, Ssidref ssidref);
  // The admission of a domain with everything it uses, all or nothing: authorization, then
  // CheckDomainCreate's rules, then STE for each resource; on permit the domain and one sharing
  // per resource are recorded. On deny nothing is recorded and one audit record names the rule
  // (verdict.rule) and the parties. create and crash recovery both admit through here.
  Admission AdmitDomain(DomainId domain, Ssidref ssidref, std::span<const ResourceRef> resources);
  // Releases the domain's Chinese Wall counts and drops its sharings (returned, for teardown).
  // Errors: kNotFound, kPermissionDenied (Domain-0).
  [[nodiscard]] Result<std::vector<Sharing>> DomainDestroy(DomainId domain);

  // Relabels a running or paused domain, or Domain-0, to `ssidref` under the active policy, all
  // or nothing (spec §5.3, §6.5): the label rules (a VM row, not __NULL_LABEL__); for a guest
  // Domain-0's authorization; the Chinese Wall against every other running domain; STE for every
  // live sharing of the domain (resources and peers) and for each of `peers`; for Domain-0 its
  // authorization of every running guest. Every violation is collected; a refusal changes nothing
  // and is audited (hook kRelabel), and so is a permitted relabel. Errors: kNotFound (the domain
  // does not run), kUnavailable (no policy loaded).
  [[nodiscard]] Result<Relabel> RelabelDomain(DomainId domain, Ssidref ssidref,
                                              std::span<const RelabelPeer> peers = {});

  // STE: permit iff the two domains' labels share a type. Lock-free.
  Decision CheckShare(DomainId subject, DomainId object, ShareKind kind);
  // STE: permit iff the domain's label and the resource's label share a type. Lock-free.
  Decision CheckResourceAccess(DomainId subject, Ssidref resource, ResourceKind kind);
  // Domain-0's STE types must be a superset of the VM label's, and share one with it (spec §1.5).
  Decision CheckAuthorization(Ssidref vm);
  // Chinese Wall query: deny iff a type of the VM label is blocked by running domains.
  Decision CheckConflictSet(Ssidref vm);

  // Side-effect-free queries for dry-run and analysis: the same rules as the hooks, answered
  // with their reasons and parties; never audited, never counted in the statistics.
  // Authorization of a VM label by Domain-0's current label (spec §1.5), then the admission's
  // label rules (CheckDomainCreate's: a VM row, not __NULL_LABEL__), in AdmitDomain's order.
  Verdict QueryAuthorization(Ssidref vm) const;
  // Would a domain with this label pass the Chinese Wall against the running domains now?
  Verdict QueryChineseWall(Ssidref vm) const;
  // STE: may a domain with label `vm` use `resource`?
  Verdict QueryResource(Ssidref vm, const ResourceRef& resource) const;

  // Checks a sharing like the hooks above and records it as live. Errors: kPermissionDenied
  // (the policy denies; audited), kNotFound (unknown domain).
  [[nodiscard]] Result<SharingId> RegisterSharing(DomainId subject, DomainId peer, ShareKind kind);
  [[nodiscard]] Result<SharingId> RegisterSharing(DomainId subject, const ResourceRef& resource);
  // Errors: kNotFound.
  [[nodiscard]] Result<void> ReleaseSharing(SharingId id);

  std::vector<Sharing> sharings() const;
  // The live sharing `id`, if it is live (one lookup; sharings() copies them all).
  std::optional<Sharing> FindSharing(SharingId id) const;
  std::vector<DomainInfo> domains() const;  // in creation order
  AcmStats stats() const;
  // Copies of the Chinese Wall arrays (running_types, conflict_aggregate).
  std::pair<std::vector<std::uint32_t>, std::vector<std::uint32_t>> chinese_wall_counts() const;

 private:
  struct DomainRecord {
    Ssidref ssidref = kInvalidSsidref;
    std::string label;
    std::uint64_t order = 0;  // creation sequence: Chinese Wall checks replay admissions in it
  };
  struct SteOutcome;
  struct Counters {
    std::atomic<std::uint64_t> evaluations{0};
    std::atomic<std::uint64_t> denials{0};
    std::atomic<std::uint64_t> cache_hits{0};
  };
  // One block per thread slot (thread_slot.h: 64 owned + 1 shared), each on its own cache lines
  // so threads never write a shared line; stats() sums the blocks.
  static constexpr std::size_t kCounterSlots = 65;
  struct alignas(64) SlotCounters {
    std::array<Counters, kHookCount> hooks;
  };
  struct UpdatePlan;
  // The domain index, the decision cache and the Chinese Wall counters (acm_tables.h): stored in
  // place (the hot path addresses them from `this`, with no pointer to load) but typed only in
  // src/acm, which checks that they fit kTablesBytes.
  struct Tables;
  static constexpr std::size_t kTablesBytes = (8192 + 4096) * sizeof(std::uint64_t) + 256;
  Tables& tables();
  const Tables& tables() const;

  // Hot path, scalars only (an optional<DomainId> argument was spilled to the stack and
  // reloaded as one word, a store-forwarding stall). `peer` is used iff has_peer.
  bool TryCachedPermit(Hook hook, DomainId subject, DomainId peer, bool has_peer, Ssidref resource);
  Decision DecideShareUncached(Hook hook, DomainId subject, DomainId peer);
  Decision DecideResourceUncached(DomainId subject, Ssidref resource, ResourceKind kind);
  SteOutcome DecideSte(DomainId subject, std::optional<DomainId> peer, Ssidref resource);
  static void PermitOpenNetwork(SteOutcome& out);  // rules.h IsOpenNetwork
  SteOutcome DecideSteOnce(const PolicySnapshot* policy, std::optional<Ssidref> subject,
                           std::optional<Ssidref> object);
  Decision FinishSte(Hook hook, DomainId subject, std::optional<DomainId> peer,
                     const SteOutcome& outcome, std::string resource);
  void Count(Hook hook, bool evaluated, bool denied, bool hit);
  void Audit(AuditRecord record);
  AuditRecord MakeRecord(Hook hook, const PolicySnapshot* policy, std::string reason) const;
  AuditParty DomainParty(const PolicySnapshot* policy, DomainId domain,
                         std::optional<Ssidref> ref) const;
  AuditParty ResourceParty(const PolicySnapshot* policy, std::string name, Ssidref ref) const;
  Verdict AdmitLocked(DomainId domain, Ssidref ssidref);
  Verdict AuthorizationLocked(Ssidref vm) const;
  Verdict ChineseWallLocked(Ssidref vm) const;
  // Forgets a recorded domain: its Chinese Wall counts, its sharings (returned) and its entry.
  std::vector<Sharing> RemoveLocked(DomainId domain);
  std::vector<ChineseWallConflict> ConflictsFor(std::uint32_t row) const;
  std::vector<std::pair<DomainId, DomainRecord>> OrderedDomains() const;
  void Publish(std::shared_ptr<const PolicySnapshot> next);
  void BeginWrite();
  void EndWrite();
  std::uint32_t ChwallRowOf(const PolicySnapshot& policy, Ssidref ref) const;
  void RebuildChineseWall();
  Result<SharingId> AddSharing(Sharing sharing, Hook hook, Ssidref resource);
  // The one way a permitted sharing is recorded (mu_ held; AdmitDomain and RegisterSharing): a
  // new id, and for a resource the name of its label (`resource`) in the active policy.
  SharingId RecordSharingLocked(Sharing sharing, Ssidref resource);
  static Sharing ResourceSharing(DomainId subject, const ResourceRef& resource);
  // Update transaction steps (acm_update.cc).
  std::vector<Violation> CheckVersion(const PolicySnapshot& next, const UpdateRequest& r) const;
  void PlanTranslation(const PolicySnapshot& next, const UpdateRequest& r, UpdatePlan& plan) const;
  // Domain-0's translation: a first policy's bootstrap label, or the bootstrap label rule.
  void PlanDomain0(const PolicySnapshot& next, const UpdateRequest& r, UpdatePlan& plan) const;
  void PlanChineseWall(const PolicySnapshot& next, UpdatePlan& plan) const;
  void PlanSharings(const PolicySnapshot& next, const UpdateRequest& r, UpdatePlan& plan) const;
  void CommitPlan(std::shared_ptr<const PolicySnapshot> next, UpdatePlan& plan,
                  UpdateReport& report);
  // Checks `next` against everything running (mu_ held); commits when `commit` and nothing
  // blocks, else fills `refusal` when `commit`.
  UpdateReport RunUpdateLocked(const std::shared_ptr<const PolicySnapshot>& next,
                               const UpdateRequest& request, bool commit,
                               std::optional<AuditRecord>& refusal);

  const Clock& clock_;
  AuditSink& audit_;

  // Lock-free read side. generation_ is a seqlock: odd while a writer changes several domain
  // entries and the active policy at once; readers retry when it moved.
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<const PolicySnapshot*> active_{nullptr};
  // Tables: index and cache lock-free; chwall guarded by mu_.
  alignas(64) std::array<std::byte, kTablesBytes> tables_;
  std::array<SlotCounters, kCounterSlots> counters_;

  mutable std::mutex mu_;
  // Guarded by mu_ (and written only with it held; the fields above are published from here):
  std::shared_ptr<const PolicySnapshot> policy_;
  // Every snapshot ever active, so a raw pointer read by a lock-free reader stays valid.
  std::vector<std::shared_ptr<const PolicySnapshot>> retained_;
  std::map<DomainId, DomainRecord> domains_;
  std::map<SharingId, Sharing> sharings_;
  std::uint64_t next_order_ = 0;
  std::uint64_t next_sharing_ = 1;
};

}  // namespace shype::acm
