// SPDX-License-Identifier: Apache-2.0
//
// Policy compiler throughput on a large generated policy: 1,000 types (900 STE, 100 CHWALL),
// 2,000 VM labels, 8,000 resource labels and 20 conflict sets, parsed, schema-validated, checked
// and compiled (budget: < 200 ms, < 64 MiB peak). Set SHYPE_BENCH_WRITE_XML=<file> to also write
// the generated policy, e.g. to measure `shype` under /usr/bin/time -v.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "shype/common/file.h"
#include "shype/policyc/compiler.h"
#include "shype/policyc/default_policy.h"
#include "shype/policyc/policy_document.h"

namespace {

constexpr int kSteTypes = 900;
constexpr int kChwallTypes = 100;
constexpr int kVmLabels = 2000;
constexpr int kResourceLabels = 8000;
constexpr int kConflictSets = 20;

void AppendTypes(std::string& xml, std::string_view element, const char* prefix,
                 std::initializer_list<int> ids) {
  xml += fmt::format("<{}>", element);
  for (int id : ids) xml += fmt::format("<Type>{}{}</Type>", prefix, id);
  xml += fmt::format("</{}>\n", element);
}

void AppendHeaderAndTypes(std::string& xml) {
  xml +=
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<SecurityPolicyDefinition xmlns=\"http://www.ibm.com\">\n"
      "<PolicyHeader><PolicyName>bench.large</PolicyName><Version>1.0</Version>"
      "</PolicyHeader>\n<SimpleTypeEnforcement><SimpleTypeEnforcementTypes>\n";
  for (int i = 0; i < kSteTypes; ++i) xml += fmt::format("<Type>ste_{}</Type>\n", i);
  xml +=
      "</SimpleTypeEnforcementTypes></SimpleTypeEnforcement>\n"
      "<ChineseWall><ChineseWallTypes>\n";
  for (int i = 0; i < kChwallTypes; ++i) xml += fmt::format("<Type>cw_{}</Type>\n", i);
  xml += "</ChineseWallTypes><ConflictSets>\n";
  for (int i = 0; i < kConflictSets; ++i) {
    xml += fmt::format("<Conflict name=\"set_{}\">", i);
    for (int j = 0; j < 5; ++j) xml += fmt::format("<Type>cw_{}</Type>", i * 5 + j);
    xml += "</Conflict>\n";
  }
  xml += "</ConflictSets></ChineseWall>\n";
}

std::string GeneratePolicy() {
  std::string xml;
  xml.reserve(4U << 20);
  AppendHeaderAndTypes(xml);
  xml += "<SecurityLabelTemplate>\n<SubjectLabels bootstrap=\"vm_0\">\n";
  for (int i = 0; i < kVmLabels; ++i) {
    xml += fmt::format("<VirtualMachineLabel><Name>vm_{}</Name>\n", i);
    AppendTypes(xml, "SimpleTypeEnforcementTypes", "ste_",
                {i % kSteTypes, (i * 7 + 1) % kSteTypes, (i * 13 + 2) % kSteTypes});
    AppendTypes(xml, "ChineseWallTypes", "cw_", {i % kChwallTypes});
    xml += "</VirtualMachineLabel>\n";
  }
  xml += "</SubjectLabels>\n<ObjectLabels>\n";
  for (int i = 0; i < kResourceLabels; ++i) {
    xml += fmt::format("<ResourceLabel><Name>res_{}</Name>", i);
    AppendTypes(xml, "SimpleTypeEnforcementTypes", "ste_", {i % kSteTypes});
    xml += "</ResourceLabel>\n";
  }
  xml += "</ObjectLabels>\n</SecurityLabelTemplate>\n</SecurityPolicyDefinition>\n";
  return xml;
}

void BM_PolicyCompileLarge(benchmark::State& state) {
  const std::string xml = GeneratePolicy();
  if (const char* path = std::getenv("SHYPE_BENCH_WRITE_XML"); path != nullptr) {
    if (!shype::WriteFileAtomic(path, xml)) state.SkipWithError("cannot write the policy");
  }
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(xml.data()),
                                            xml.size());
  for (auto _ : state) {
    auto doc = shype::policyc::ParsePolicyXml(bytes, "bench.xml");
    if (!doc) {
      state.SkipWithError(doc.error().message.c_str());
      break;
    }
    auto compiled = shype::policyc::CompilePolicy(*doc);
    if (!compiled) {
      state.SkipWithError(compiled.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(compiled->bytes.data());
  }
  state.counters["xml_bytes"] = static_cast<double>(xml.size());
}
BENCHMARK(BM_PolicyCompileLarge)->Unit(benchmark::kMillisecond);

void BM_PolicyCompileDefault(benchmark::State& state) {
  const std::string xml = shype::policyc::DefaultPolicyXml();
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(xml.data()),
                                            xml.size());
  for (auto _ : state) {
    auto doc = shype::policyc::ParsePolicyXml(bytes, "DEFAULT");
    auto compiled = shype::policyc::CompilePolicy(*doc);
    benchmark::DoNotOptimize(compiled->bytes.data());
  }
}
BENCHMARK(BM_PolicyCompileDefault)->Unit(benchmark::kMicrosecond);

}  // namespace
