// SPDX-License-Identifier: Apache-2.0
//
// Reference-monitor hot paths: a cached (one and two threads) and an uncached STE decision
// (CheckShare), and Chinese Wall admission + destroy on a 1,000-type policy. Report medians:
// --benchmark_repetitions=N --benchmark_report_aggregates_only=true (docs/PERFORMANCE.md).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "shype/acm/acm.h"

namespace {

using shype::DomainId;
using shype::Ssidref;
using shype::acm::Acm;
using shype::acm::Decision;
using shype::acm::ShareKind;
namespace policy = shype::policy;

class NullSink final : public shype::acm::AuditSink {
 public:
  void Submit(shype::acm::AuditRecord) override {}
};

// A CHWALL+STE policy with `labels` VM labels (row 0 unlabeled, row 1 bootstrap holding every
// STE type), each other label carrying `ste_per_label` random STE types and `cw_per_label` random
// CHWALL types, and `sets` random conflict sets of `set_size` CHWALL types.
struct Shape {
  std::uint32_t labels, ste_types, ste_per_label, cw_types, cw_per_label, sets, set_size;
  bool common_ste_type = false;  // every label also carries STE type 0 (all sharings permitted)
};

std::pair<policy::BinaryPolicy, policy::LabelMap> MakePolicy(const Shape& s) {
  std::mt19937 rng(42);
  policy::BinaryPolicy b;
  policy::LabelMap m;
  b.name = m.policy_name = "bench.policy";
  b.primary = m.primary = policy::PolicyCode::kChineseWall;
  b.secondary = m.secondary = policy::PolicyCode::kSimpleTypeEnforcement;
  for (std::uint32_t t = 0; t < s.ste_types; ++t) m.ste_types.push_back("ste_" + std::to_string(t));
  for (std::uint32_t t = 0; t < s.cw_types; ++t)
    m.chwall_types.push_back("cw_" + std::to_string(t));
  m.vm_labels = {"__NULL_LABEL__", "SystemManagement"};
  for (std::uint32_t l = 2; l < s.labels; ++l) m.vm_labels.push_back("dom_" + std::to_string(l));
  policy::TypeMatrix ste{s.labels, s.ste_types, std::vector<std::uint16_t>(s.labels * s.ste_types)};
  policy::TypeMatrix cw{s.labels, s.cw_types, std::vector<std::uint16_t>(s.labels * s.cw_types)};
  policy::TypeMatrix sets{s.sets, s.cw_types, std::vector<std::uint16_t>(s.sets * s.cw_types)};
  for (std::uint32_t t = 0; t < s.ste_types; ++t) ste.cells[1 * s.ste_types + t] = 1;
  for (std::uint32_t l = 2; l < s.labels; ++l) {
    if (s.common_ste_type) ste.cells[l * s.ste_types] = 1;
    for (std::uint32_t i = 0; i < s.ste_per_label; ++i)
      ste.cells[l * s.ste_types + rng() % s.ste_types] = 1;
    for (std::uint32_t i = 0; i < s.cw_per_label; ++i)
      cw.cells[l * s.cw_types + rng() % s.cw_types] = 1;
  }
  for (std::uint32_t c = 0; c < s.sets; ++c) {
    for (std::uint32_t i = 0; i < s.set_size; ++i)
      sets.cells[c * s.cw_types + rng() % s.cw_types] = 1;
  }
  b.chwall = policy::ChineseWallPolicy{cw, sets};
  b.ste = policy::SimpleTypeEnforcementPolicy{ste};
  return {b, m};
}

struct Bench {
  explicit Bench(const Shape& shape) : acm(clock, sink) {
    auto [binary, labels] = MakePolicy(shape);
    if (!acm.LoadPolicy(std::move(binary), std::move(labels))) std::abort();
  }
  shype::acm::SystemClock clock;
  NullSink sink;
  Acm acm;
};

// Two running domains with the same label: every CheckShare after the first is a cached permit.
void StartCachedPair(Acm& acm) {
  for (std::uint32_t l = 2; l < 4; ++l) {
    if (acm.CheckDomainCreate(DomainId{l}, Ssidref::FromParts(1, 1)).decision != Decision::kPermit)
      std::abort();
  }
}

void ReportHitRatio(benchmark::State& state, const Acm& acm) {
  const auto stats = acm.stats().of(shype::acm::Hook::kDoorbell);
  state.counters["hit_ratio"] = static_cast<double>(stats.cache_hits) /
                                static_cast<double>(stats.cache_hits + stats.evaluations);
}

void BM_SteDecisionCached(benchmark::State& state) {
  Bench b({16, 16, 3, 4, 1, 0, 0});
  StartCachedPair(b.acm);
  for (auto _ : state) {
    benchmark::DoNotOptimize(b.acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kDoorbell));
  }
  ReportHitRatio(state, b.acm);
}
BENCHMARK(BM_SteDecisionCached);

// The same cached decision on one Acm from two threads at once (one per core here): anything the
// hot path writes to a shared cache line, such as a shared statistics counter, bounces between
// the cores. Time is wall time over the decisions of both threads (1/throughput); CPU is both
// threads' CPU time over those decisions, i.e. what one decision costs a core.
void BM_SteDecisionCachedTwoThreads(benchmark::State& state) {
  static Bench* const shared = [] {
    auto* b = new Bench({16, 16, 3, 4, 1, 0, 0});  // lives until exit, shared by both threads
    StartCachedPair(b->acm);
    return b;
  }();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        shared->acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kDoorbell));
  }
  if (state.thread_index() == 0) ReportHitRatio(state, shared->acm);
}
BENCHMARK(BM_SteDecisionCachedTwoThreads)->Threads(2)->UseRealTime();

// 256 running domains with 256 distinct labels: cycling through their 32,896 pairs overflows the
// 4,096-slot cache, so nearly every decision is computed from the row bitsets (64 STE types) and
// inserted. Every pair shares a type, so this is the permit path; denials add an audit record
// (BM_SteDenialAudited).
void SharePairs(benchmark::State& state, bool common_type) {
  constexpr std::uint32_t kLabels = 258;
  Bench b({kLabels, 64, 3, 4, 1, 0, 0, common_type});
  for (std::uint32_t l = 2; l < kLabels; ++l) {
    const auto row = static_cast<std::uint16_t>(l);
    if (b.acm.CheckDomainCreate(DomainId{l}, Ssidref::FromParts(row, row)).decision !=
        Decision::kPermit)
      std::abort();
  }
  std::uint32_t s = 2, o = 2;
  for (auto _ : state) {
    benchmark::DoNotOptimize(b.acm.CheckShare(DomainId{s}, DomainId{o}, ShareKind::kSharedMemory));
    if (++o == kLabels) {
      o = 2;
      if (++s == kLabels) s = 2;
    }
  }
  const auto stats = b.acm.stats().of(shype::acm::Hook::kSharedMemory);
  state.counters["hit_ratio"] = static_cast<double>(stats.cache_hits) /
                                static_cast<double>(stats.cache_hits + stats.evaluations);
  state.counters["deny_ratio"] = static_cast<double>(stats.denials) /
                                 static_cast<double>(stats.cache_hits + stats.evaluations);
}
void BM_SteDecisionUncached(benchmark::State& state) { SharePairs(state, true); }
BENCHMARK(BM_SteDecisionUncached);
// Mostly denials (3 random types of 64 per label), each building an AuditRecord for the sink.
void BM_SteDenialAudited(benchmark::State& state) { SharePairs(state, false); }
BENCHMARK(BM_SteDenialAudited);

// One CheckDomainCreate (admission + counter commit) and one DomainDestroy per iteration, with 50
// domains running, on a policy of 1,000 CHWALL types in 200 conflict sets of 5.
void BM_ChineseWallAdmission1000Types(benchmark::State& state) {
  Bench b({400, 16, 2, 1000, 2, 200, 5});
  std::uint32_t next = 2;
  std::vector<std::uint16_t> admissible;
  for (std::uint16_t row = 2; row < 400 && admissible.size() < 60; ++row) {
    auto d = b.acm.CheckDomainCreate(DomainId{next}, Ssidref::FromParts(row, row));
    if (d.decision == Decision::kPermit) {
      admissible.push_back(row);
      ++next;
    }
  }
  // The last admitted label is destroyed and re-created in the loop; 50+ others stay running.
  const std::uint16_t row = admissible.back();
  const DomainId id{next - 1};
  if (!b.acm.DomainDestroy(id)) std::abort();
  for (auto _ : state) {
    auto d = b.acm.CheckDomainCreate(id, Ssidref::FromParts(row, row));
    if (d.decision != Decision::kPermit) state.SkipWithError("admission denied");
    benchmark::DoNotOptimize(b.acm.DomainDestroy(id));
  }
  state.counters["running"] = static_cast<double>(admissible.size());
}
BENCHMARK(BM_ChineseWallAdmission1000Types);

}  // namespace
