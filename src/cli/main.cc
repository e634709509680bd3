// SPDX-License-Identifier: Apache-2.0
//
// shype: the command-line interface (xm's security and domain commands, plus offline policy
// tools). Talks to shyped when it runs, else works offline on the state directory.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <iostream>
#include <span>

#include "command_line.h"
#include "commands.h"
#include "shype/api/state_dir.h"
#include "shype/api/text.h"
#include "text_checked_backend.h"

#ifndef SHYPE_VERSION
#error "SHYPE_VERSION (CMake's project version) must be defined"
#endif

namespace shype::cli {

std::filesystem::path Context::state_dir() const { return api::ResolveStateDir(state_dir_flag); }

Result<Backend*> Context::backend(StateDirUse use) {
  if (!backend_) {
    const std::filesystem::path dir = state_dir();
    std::error_code ec;
    // Only setpolicy (and shyped) may create the state directory: a mistyped --state-dir must not
    // become a new, empty state.
    if (use == StateDirUse::kMustExist &&
        std::filesystem::status(dir, ec).type() == std::filesystem::file_type::not_found) {
      return Fail(ErrorCode::kUnavailable,
                  "state directory '{}' does not exist (start shyped or run 'shype setpolicy' "
                  "first)",
                  dir.string());
    }
    auto opened = OpenBackend(dir);
    if (!opened) return Fail(opened.error());
    backend_ = WithTextChecks(std::move(*opened));
  }
  return backend_.get();
}

void Context::Print(const api::Json& result, const std::string& text) const {
  if (json) {
    std::cout << api::DumpJson(result, 2) << "\n";
  } else {
    std::cout << text;
  }
  std::cout.flush();
}

void Context::PrintError(const Error& error) {
  exit_code = ExitCodeFor(error.code);
  if (json) {
    std::cerr << api::DumpJson(api::ErrorToJson(error), 2) << "\n";
  } else {
    std::cerr << "Error: " << error.message << "\n";
  }
  std::cerr.flush();
}

void Context::Warn(const std::string& message) const {
  if (json) {
    std::cerr << api::DumpJson(api::Json{{"warning", {{"message", message}}}}, 2) << "\n";
  } else {
    std::cerr << "Warning: " << message << "\n";
  }
  std::cerr.flush();
}

Result<void> CheckFileIsText(const std::string& path, const std::string& text) {
  if (auto r = api::CheckText(path, "the file name"); !r) return r;
  return api::CheckText(text, fmt::format("the contents of '{}'", path));
}

int ExitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kConflict:
      return 1;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kPolicyInvalid:
    case ErrorCode::kIo:
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
      return 2;
  }
  return 2;
}

}  // namespace shype::cli

namespace {

using shype::cli::Context;

void RegisterCommands(CLI::App& app, Context& ctx) {
  app.require_subcommand(1);
  app.set_version_flag("--version", "shype " SHYPE_VERSION, "print the version and exit");
  app.add_option("--state-dir", ctx.state_dir_flag,
                 "state directory (default: $SHYPE_STATE_DIR or /var/lib/shype)");
  app.add_flag("--json", ctx.json, "print results as JSON (and errors as JSON on stderr)");
  shype::cli::RegisterPolicyCommands(app, ctx);
  shype::cli::RegisterSecurityCommands(app, ctx);
  shype::cli::RegisterDomainCommands(app, ctx);
  shype::cli::RegisterVtpmCommands(app, ctx);
  shype::cli::RegisterWebCommand(app, ctx);
  shype::cli::RegisterHelpCommand(app, ctx);
  // --json and --state-dir work after any subcommand, nested ones (vnet show, policy ...) too.
  std::function<void(CLI::App&)> fall_through = [&](CLI::App& parent) {
    for (CLI::App* sub : parent.get_subcommands({})) {
      sub->fallthrough();
      fall_through(*sub);
    }
  };
  fall_through(app);
}

}  // namespace

int main(int argc, char** argv) {
  Context ctx;
  CLI::App app{"shype: mandatory access control (sHype / Xen ACM) for QEMU/KVM virtual machines",
               "shype"};
  RegisterCommands(app, ctx);
  const std::span<char* const> args(argv + 1, static_cast<std::size_t>(argc > 0 ? argc - 1 : 0));
  ctx.json = shype::cli::WantsJson(args);  // for errors before CLI11 has read --json
  const std::vector<std::string> words = shype::cli::CommandWords(app, args);
  if (auto known = shype::cli::FindCommand(app, words); !known) {
    ctx.PrintError(known.error());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // adapter: CLI11 reports usage errors by throwing
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version: printed on stdout
    ctx.PrintError(shype::cli::UsageError(app, e));
    return 2;
  }
  return ctx.exit_code;
}
