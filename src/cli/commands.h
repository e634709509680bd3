// SPDX-License-Identifier: Apache-2.0
//
// The CLI's command groups. Each Register* adds subcommands to the CLI11 app; the callbacks
// set `Context::exit_code` (0 ok, 1 denied / not found, 2 bad input or failure).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <string>

#include "backend.h"

namespace shype::cli {

// Whether a command may create a missing state directory (only setpolicy may).
enum class StateDirUse : std::uint8_t { kMustExist, kMayCreate };

struct Context {
  std::string state_dir_flag;
  bool json = false;
  int exit_code = 0;

  std::filesystem::path state_dir() const;
  // Opens the backend once (the daemon if it answers, else offline on the state directory).
  // kUnavailable, naming it, when the state directory does not exist and `use` is kMustExist.
  [[nodiscard]] Result<Backend*> backend(StateDirUse use = StateDirUse::kMustExist);
  // Prints a result on stdout: JSON (--json) or the given text.
  void Print(const api::Json& result, const std::string& text) const;
  // Prints `Error: MESSAGE` (with --json: api::ErrorToJson's object) on stderr and sets the exit
  // code from the error.
  void PrintError(const Error& error);
  // Prints `Warning: MESSAGE` (with --json: {"warning": {"message": ...}}) on stderr.
  void Warn(const std::string& message) const;

 private:
  std::unique_ptr<Backend> backend_;
};

// Exit code for an error: 1 when the policy denied or a thing was not found, else 2.
int ExitCodeFor(ErrorCode code);

// Checks that a file the CLI sends to shyped has a UTF-8 name and UTF-8 contents (the API
// carries both as JSON text). Errors: kInvalidArgument naming the file and the bad byte.
[[nodiscard]] Result<void> CheckFileIsText(const std::string& path, const std::string& text);

void RegisterPolicyCommands(CLI::App& app, Context& ctx);       // shype policy validate|compile|...
void RegisterAnalysisCommands(CLI::App& policy, Context& ctx);  // shype policy analyze|diff
void RegisterSecurityCommands(CLI::App& app, Context& ctx);     // setpolicy, labels, addlabel, ...
void RegisterDomainCommands(CLI::App& app, Context& ctx);       // create, list, destroy, ...
void RegisterVtpmCommands(CLI::App& app, Context& ctx);  // vtpm list|destroy|ca, attest, verify
void RegisterWebCommand(CLI::App& app, Context& ctx);    // web (src/web, docs/web.md)

}  // namespace shype::cli
