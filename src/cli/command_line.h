// SPDX-License-Identifier: Apache-2.0
//
// The command line around the commands: unknown commands named with the nearest one suggested,
// `shype help [CMD...]`, and CLI11's usage errors turned into shype's errors.
#pragma once

#include <CLI/CLI.hpp>
#include <span>
#include <string>
#include <vector>

#include "commands.h"

namespace shype::cli {

// The command at `path` under `root` ({"vnet", "show"}). kInvalidArgument for a name that is no
// command there: "unknown command 'vnet lst'; did you mean 'vnet list'?".
[[nodiscard]] Result<CLI::App*> FindCommand(CLI::App& root, std::span<const std::string> path);

// The words of argv that name commands (before a leaf command's own arguments; options and the
// value of --state-dir skipped), and whether --json was given. Both read argv before CLI11 does.
std::vector<std::string> CommandWords(const CLI::App& root, std::span<char* const> args);
bool WantsJson(std::span<char* const> args);

// A usage error of CLI11 as shype's error (kInvalidArgument), naming the command to get help on:
// "setpolicy: file is required; see 'shype help setpolicy'".
Error UsageError(const CLI::App& root, const CLI::ParseError& e);

// `shype help [CMD...]`: the help of that command (as `shype CMD --help` prints it), or the
// overview.
void RegisterHelpCommand(CLI::App& app, Context& ctx);

}  // namespace shype::cli
