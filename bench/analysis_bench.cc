// SPDX-License-Identifier: Apache-2.0
//
// Policy analysis (what `shype policy analyze` and the web UI's share matrix and conflict graph
// compute) and diff on generated policies of N VM labels, 2N resource labels, N/2 STE types,
// N/10 Chinese Wall types in N/50 conflict sets, with N/10 running domains. Target (web use):
// a 200-label policy analyzed in < 50 ms.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "shype/acm/policy_analysis.h"
#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_document.h"

namespace {

std::string Types(std::string_view element, const char* prefix, std::vector<int> ids) {
  std::string xml = fmt::format("<{}>", element);
  for (int id : ids) xml += fmt::format("<Type>{}{}</Type>", prefix, id);
  return xml + fmt::format("</{}>\n", element);
}

// `version` 1.0 or, with `from`, 1.1 renaming vm_0 and moving every tenth label's types.
std::string Generate(int n, bool next) {
  const int ste = n / 2, cw = n / 10, sets = std::max(1, n / 50);
  std::string xml = fmt::format(
      "<?xml version=\"1.0\"?>\n<SecurityPolicyDefinition xmlns=\"http://www.ibm.com\">\n"
      "<PolicyHeader><PolicyName>bench.analysis</PolicyName><Version>{}</Version>{}"
      "</PolicyHeader>\n<SimpleTypeEnforcement><SimpleTypeEnforcementTypes>\n",
      next ? "1.1" : "1.0",
      next ? "<FromPolicy><PolicyName>bench.analysis</PolicyName><Version>1.0</Version>"
             "</FromPolicy>"
           : "");
  for (int i = 0; i < ste; ++i) xml += fmt::format("<Type>ste_{}</Type>\n", i);
  xml += "</SimpleTypeEnforcementTypes></SimpleTypeEnforcement>\n<ChineseWall><ChineseWallTypes>";
  for (int i = 0; i < cw; ++i) xml += fmt::format("<Type>cw_{}</Type>\n", i);
  xml += "</ChineseWallTypes><ConflictSets>\n";
  for (int s = 0; s < sets; ++s) {
    xml += fmt::format("<Conflict name=\"set_{}\">", s);
    for (int j = 0; j < 5; ++j) xml += fmt::format("<Type>cw_{}</Type>", s * 5 + j);
    xml += "</Conflict>\n";
  }
  xml +=
      "</ConflictSets></ChineseWall>\n<SecurityLabelTemplate>\n<SubjectLabels "
      "bootstrap=\"vm_1\">\n";
  for (int i = 0; i < n; ++i) {
    const int shift = next && i % 10 == 0 ? 1 : 0;
    xml += i == 0 && next ? "<VirtualMachineLabel><Name from=\"vm_0\">vm_zero</Name>\n"
                          : fmt::format("<VirtualMachineLabel><Name>vm_{}</Name>\n", i);
    xml += Types("SimpleTypeEnforcementTypes", "ste_",
                 {(i + shift) % ste, (i * 7 + 1) % ste, (i * 13 + 2) % ste});
    xml += Types("ChineseWallTypes", "cw_", {(i + shift) % cw});
    xml += "</VirtualMachineLabel>\n";
  }
  xml += "</SubjectLabels>\n<ObjectLabels>\n";
  for (int i = 0; i < 2 * n; ++i) {
    xml += fmt::format("<ResourceLabel><Name>res_{}</Name>", i);
    xml += Types("SimpleTypeEnforcementTypes", "ste_", {i % ste});
    xml += "</ResourceLabel>\n";
  }
  return xml + "</ObjectLabels>\n</SecurityLabelTemplate>\n</SecurityPolicyDefinition>\n";
}

shype::policyc::CompiledPolicy Compile(const std::string& xml, benchmark::State& state) {
  auto doc = shype::policyc::ParsePolicyXml(
      std::span(reinterpret_cast<const std::uint8_t*>(xml.data()), xml.size()), "bench.xml");
  if (!doc) {
    state.SkipWithError(doc.error().message.c_str());
    return {};
  }
  auto compiled = shype::policyc::CompilePolicy(*doc);
  if (!compiled) {
    state.SkipWithError(compiled.error().message.c_str());
    return {};
  }
  return std::move(*compiled);
}

void BM_AnalyzePolicy(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto policy = Compile(Generate(n, false), state);
  std::vector<shype::acm::AnalysisDomain> running;
  for (int i = 0; i < n / 10; ++i) {
    running.push_back({fmt::format("dom{}", i), shype::DomainId(static_cast<std::uint32_t>(i + 1)),
                       fmt::format("vm_{}", i * 10 + 1)});
  }
  for (auto _ : state) {
    auto analysis = shype::acm::AnalyzePolicy(policy, running);
    if (!analysis) {
      state.SkipWithError(analysis.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(analysis->conflicts.data());
  }
}
BENCHMARK(BM_AnalyzePolicy)->Arg(50)->Arg(200)->Unit(benchmark::kMillisecond);

void BM_DiffPolicies(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto old_policy = Compile(Generate(n, false), state);
  const auto new_policy = Compile(Generate(n, true), state);
  for (auto _ : state) {
    auto diff = shype::acm::DiffPolicies(old_policy, new_policy);
    if (!diff) {
      state.SkipWithError(diff.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(diff->sharing_gained.data());
  }
}
BENCHMARK(BM_DiffPolicies)->Arg(50)->Arg(200)->Unit(benchmark::kMillisecond);

}  // namespace
