// SPDX-License-Identifier: Apache-2.0
//
// Unknown commands, `shype help`, usage errors.
#include "command_line.h"

#include <iostream>
#include <memory>
#include <string_view>

#include "shype/config/nearest_name.h"

namespace shype::cli {
namespace {

std::string Join(std::span<const std::string> words) {
  std::string joined;
  for (const std::string& w : words) joined += (joined.empty() ? "" : " ") + w;
  return joined;
}

// AppT: CLI::App or const CLI::App.
template <class AppT>
AppT* Subcommand(AppT& parent, const std::string& name) {
  for (AppT* sub : parent.get_subcommands({})) {
    if (sub->check_name(name)) return sub;
  }
  return nullptr;
}

// The chain of commands CLI11 selected, outermost first (empty: none).
std::vector<std::string> SelectedPath(const CLI::App& root) {
  std::vector<std::string> path;
  for (const CLI::App* app = &root; !app->get_subcommands().empty();) {
    app = app->get_subcommands().front();
    path.push_back(app->get_name());
  }
  return path;
}

}  // namespace

Result<CLI::App*> FindCommand(CLI::App& root, std::span<const std::string> path) {
  CLI::App* app = &root;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (CLI::App* sub = Subcommand(*app, path[i])) {
      app = sub;
      continue;
    }
    std::vector<std::string> names;
    for (const CLI::App* sub : app->get_subcommands({})) names.push_back(sub->get_name());
    const std::vector<std::string_view> candidates(names.begin(), names.end());
    const std::string where = Join(path.first(i));
    const std::string prefix = where.empty() ? "" : where + " ";
    auto nearest = config::NearestName(path[i], candidates);
    if (nearest) {
      return Fail(ErrorCode::kInvalidArgument, "unknown command '{}{}'; did you mean '{}{}'?",
                  prefix, path[i], prefix, *nearest);
    }
    return Fail(ErrorCode::kInvalidArgument,
                "unknown command '{}{}'; the commands are listed by: shype help{}", prefix, path[i],
                where.empty() ? "" : " " + where);
  }
  return app;
}

std::vector<std::string> CommandWords(const CLI::App& root, std::span<char* const> args) {
  std::vector<std::string> words;
  const CLI::App* app = &root;
  for (std::size_t i = 0; i < args.size() && !app->get_subcommands({}).empty(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--") break;
    if (arg == "--state-dir") ++i;  // its value
    if (arg.starts_with("-")) continue;
    words.emplace_back(arg);
    app = Subcommand(*app, words.back());
    if (app == nullptr) break;
  }
  return words;
}

bool WantsJson(std::span<char* const> args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--") break;
    if (arg == "--state-dir") ++i;
    if (arg == "--json") return true;
  }
  return false;
}

Error UsageError(const CLI::App& root, const CLI::ParseError& e) {
  const std::vector<std::string> path = SelectedPath(root);
  const std::string command = Join(path);
  if (command.empty()) {
    return Error{ErrorCode::kInvalidArgument, fmt::format("{}; see 'shype help'", e.what())};
  }
  return Error{ErrorCode::kInvalidArgument,
               fmt::format("{}: {}; see 'shype help {}'", command, e.what(), command)};
}

void RegisterHelpCommand(CLI::App& app, Context& ctx) {
  auto* help = app.add_subcommand("help", "show the help of a command, or this overview");
  auto words = std::make_shared<std::vector<std::string>>();
  help->add_option("command", *words, "a command (policy compile: its subcommand too)");
  help->callback([&app, &ctx, words] {
    auto command = FindCommand(app, *words);
    if (!command) return ctx.PrintError(command.error());
    std::string name = "shype";
    for (const std::string& w : *words) name += " " + w;
    // What CLI11 prints for `shype CMD --help` (App::help with its chain of names).
    std::cout << (*command)->get_formatter()->make_help(*command, name, CLI::AppFormatMode::Normal);
    std::cout.flush();
  });
}

}  // namespace shype::cli
