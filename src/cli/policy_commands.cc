// SPDX-License-Identifier: Apache-2.0
//
// Offline policy tools (no daemon, no state directory): shype policy validate | compile | dump |
// labels. Exit 0 ok, 1 not found, 2 bad input.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "shype/common/file.h"
#include "shype/policy/binary_policy.h"
#include "shype/policy/dump.h"
#include "shype/policy/label_map.h"
#include "shype/policyc/compiler.h"

namespace shype::cli {
namespace {

bool LooksBinary(const std::vector<std::uint8_t>& bytes) {
  return bytes.size() >= 4 && bytes[0] == 0x00 && bytes[1] == 0x01 && bytes[2] == 0xde &&
         bytes[3] == 0xbc;
}

Result<policyc::CompiledPolicy> CompileFile(const std::string& path) {
  auto bytes = ReadFileBounded(path, policyc::kMaxPolicyXmlBytes);
  if (!bytes) return Fail(bytes.error());
  auto doc = policyc::ParsePolicyXml(*bytes, path);
  if (!doc) return Fail(doc.error());
  return policyc::CompilePolicy(*doc);
}

void Validate(Context& ctx, const std::string& path) {
  auto compiled = CompileFile(path);
  if (!compiled) return ctx.PrintError(compiled.error());
  ctx.Print(
      {{"file", path}, {"policy", compiled->header.name}, {"version", compiled->header.version}},
      fmt::format("{}: valid policy '{}' version {}\n", path, compiled->header.name,
                  compiled->header.version));
}

void Compile(Context& ctx, const std::string& path, const std::string& out,
             const std::string& map) {
  auto compiled = CompileFile(path);
  if (!compiled) return ctx.PrintError(compiled.error());
  if (auto r = WriteFileAtomic(out, compiled->bytes); !r) return ctx.PrintError(r.error());
  if (!map.empty()) {
    if (auto r = WriteFileAtomic(map, compiled->map_text); !r) return ctx.PrintError(r.error());
  }
  ctx.Print({{"binary", out}, {"bytes", compiled->bytes.size()}, {"map", map}},
            fmt::format("{}: {} bytes written to {}{}\n", path, compiled->bytes.size(), out,
                        map.empty() ? "" : ", map to " + map));
}

void Dump(Context& ctx, const std::string& path) {
  auto bytes = ReadFileBounded(path, policy::kMaxPolicyBytes);
  if (!bytes) return ctx.PrintError(bytes.error());
  policy::BinaryPolicy binary;
  if (LooksBinary(*bytes)) {
    auto parsed = policy::ParseBinaryPolicy(*bytes);
    if (!parsed) return ctx.PrintError(parsed.error().WithContext(path));
    binary = std::move(*parsed);
  } else {
    auto compiled = CompileFile(path);
    if (!compiled) return ctx.PrintError(compiled.error());
    binary = std::move(compiled->binary);
  }
  // Domain-0 carries the bootstrap label, row 1 of both matrices (Xen's DOM0_SSIDREF).
  std::string text = policy::DumpBinaryPolicy(binary, kBootstrapSsidref);
  ctx.Print({{"file", path}, {"text", text}}, text);
}

void Labels(Context& ctx, const std::string& path, const std::string& type) {
  auto compiled = CompileFile(path);
  if (!compiled) return ctx.PrintError(compiled.error());
  std::vector<std::string> labels = compiled->map.SortedLabelNames(type != "res", type != "dom");
  std::string text;
  for (const auto& l : labels) text += l + "\n";
  ctx.Print({{"policy", compiled->header.name}, {"type", type}, {"labels", labels}}, text);
}

}  // namespace

void RegisterPolicyCommands(CLI::App& app, Context& ctx) {
  auto* policy = app.add_subcommand(
      "policy", "policy tools: validate, compile, dump, labels (offline, no state); analyze, diff");
  policy->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto map = std::make_shared<std::string>();
  auto type = std::make_shared<std::string>("any");
  auto* validate = policy->add_subcommand("validate", "check a policy XML file");
  validate->add_option("file", *file, "policy XML")->required();
  validate->callback([&ctx, file] { Validate(ctx, *file); });
  auto* compile = policy->add_subcommand("compile", "compile a policy to Xen ACM v4 binary");
  compile->add_option("file", *file, "policy XML")->required();
  compile->add_option("-o,--output", *out, "binary policy to write")->required();
  compile->add_option("--map", *map, "map file to write");
  compile->callback([&ctx, file, out, map] { Compile(ctx, *file, *out, *map); });
  auto* dump = policy->add_subcommand("dump", "dump a policy (XML or binary) as xm dumppolicy");
  dump->add_option("file", *file, "policy XML or binary")->required();
  dump->callback([&ctx, file] { Dump(ctx, *file); });
  auto* labels = policy->add_subcommand("labels", "list a policy's labels");
  labels->add_option("file", *file, "policy XML")->required();
  labels->add_option("--type", *type, "dom, res or any")
      ->check(CLI::IsMember({"dom", "res", "any"}));
  labels->callback([&ctx, file, type] { Labels(ctx, *file, *type); });
  RegisterAnalysisCommands(*policy, ctx);
  for (CLI::App* sub : policy->get_subcommands({})) sub->fallthrough();
}

}  // namespace shype::cli
