// SPDX-License-Identifier: Apache-2.0
//
// Aligned tables of the policy analysis and diff replies (analysis_format.h).
#include "analysis_format.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string_view>

namespace shype::cli {
namespace {

using api::Json;
using Rows = std::vector<std::vector<std::string>>;

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> Strings(const Json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const Json& s : j) out.push_back(s.is_string() ? s.get<std::string>() : s.dump());
  return out;
}

std::vector<std::string> Strings(const Json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? std::vector<std::string>{} : Strings(*it);
}

const Json& Array(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

// A list as one cell or line: "-" when empty.
std::string Joined(const std::vector<std::string>& items, std::string_view sep = ", ") {
  return items.empty() ? "-" : fmt::format("{}", fmt::join(items, sep));
}

std::string Line(const std::string& title, const std::vector<std::string>& items) {
  return fmt::format("{}: {}\n", title, Joined(items));
}

// A captioned table; "Title: -" when it has no rows.
std::string Section(const std::string& title, std::vector<std::string> header, const Rows& rows) {
  if (rows.empty()) return title + ": -\n";
  Rows all{std::move(header)};
  all.insert(all.end(), rows.begin(), rows.end());
  return title + ":\n" + FormatTable(all);
}

std::string Cell(const Json& types) { return Joined(Strings(types), ","); }

std::string Matrix(const std::string& title, const std::string& corner, const Json& m) {
  const std::vector<std::string> cols = Strings(m, "cols");
  const std::vector<std::string> rows = Strings(m, "rows");
  if (rows.empty() || cols.empty()) return title + ": -\n";
  Rows table;
  table.push_back({corner});
  table[0].insert(table[0].end(), cols.begin(), cols.end());
  const Json& cells = Array(m, "types");
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::vector<std::string> line{rows[r]};
    for (std::size_t c = 0; c < cols.size(); ++c) {
      const bool present = r < cells.size() && c < cells[r].size();
      line.push_back(present ? Cell(cells[r][c]) : "-");
    }
    table.push_back(std::move(line));
  }
  return title + ":\n" + FormatTable(table);
}

Rows LabelRows(const Json& labels, bool chwall) {
  Rows rows;
  for (const Json& l : labels) {
    std::vector<std::string> row{Str(l, "name"), Joined(Strings(l, "ste_types"))};
    if (chwall) row.push_back(Joined(Strings(l, "chwall_types")));
    rows.push_back(std::move(row));
  }
  return rows;
}

// One row per conflict set and pair of types keeping a conflict's labels apart.
std::string Conflicts(const std::string& title, const Json& conflicts) {
  Rows rows;
  for (const Json& c : conflicts) {
    for (const Json& set : Array(c, "sets")) {
      rows.push_back(
          {Str(c, "a"), Str(c, "b"), Str(set, "name"), Joined(Strings(set, "types"), " / ")});
    }
  }
  return Section(title, {"Label", "Label", "Conflict set", "Types"}, rows);
}

std::string Running(const Json& running) {
  Rows domains;
  for (const Json& d : Array(running, "domains")) {
    domains.push_back({Str(d, "name"), d.value("id", Json(0)).dump(), Str(d, "label")});
  }
  Rows pairs;
  for (const Json& s : Array(running, "sharing")) {
    pairs.push_back({Str(s, "a"), Str(s, "b"), Cell(s.value("types", Json::array()))});
  }
  return Section("Running domains", {"Domain", "ID", "Label"}, domains) + "\n" +
         Section("Running domains able to share now", {"Domain", "Domain", "STE types"}, pairs);
}

std::string PolicyName(const Json& p) {
  return fmt::format("'{}' version {} ({})", Str(p, "name"), Str(p, "version"), Str(p, "source"));
}

}  // namespace

std::string FormatTable(const Rows& rows) {
  auto width = [](const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
  };
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - width(row[i]) + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string FormatPolicyAnalysis(const Json& a) {
  Rows sets;
  for (const Json& s : Array(a, "conflict_sets")) {
    sets.push_back({Str(s, "name"), Joined(Strings(s, "types"))});
  }
  return fmt::format("Policy {}\n\n", PolicyName(a.value("policy", Json::object()))) +
         Line("STE types", Strings(a, "ste_types")) +
         Line("Chinese Wall types", Strings(a, "chwall_types")) + "\n" +
         Section("Conflict sets", {"Conflict set", "Types"}, sets) + "\n" +
         Section("VM labels", {"VM label", "STE types", "Chinese Wall types"},
                 LabelRows(Array(a, "vm_labels"), true)) +
         "\n" +
         Section("Resource labels", {"Resource label", "STE types"},
                 LabelRows(Array(a, "resource_labels"), false)) +
         "\n" +
         Matrix("VM labels sharing (common STE types; '-': may not share)", "VM label",
                a.value("vm_matrix", Json::object())) +
         "\n" +
         Matrix("VM labels using resources (common STE types; '-': may not use)", "VM label",
                a.value("resource_matrix", Json::object())) +
         "\n" + Conflicts("Chinese Wall conflicts (never run together)", Array(a, "conflicts")) +
         "\n" + Line("Labels reaching nothing", Strings(a, "reach_nothing")) +
         Line("Labels reaching everything", Strings(a, "reach_everything")) +
         Line("Unused STE types", Strings(a, "unused_ste_types")) +
         Line("Unused Chinese Wall types", Strings(a, "unused_chwall_types")) + "\n" +
         Running(a.value("running", Json::object()));
}

std::string FormatPolicyDiff(const Json& d) {
  auto renames = [&](const char* key) {
    std::vector<std::string> out;
    for (const Json& r : Array(d, key)) out.push_back(Str(r, "from") + " -> " + Str(r, "to"));
    return out;
  };
  auto pairs = [&](const char* key) {
    Rows rows;
    for (const Json& p : Array(d, key)) {
      rows.push_back({Str(p, "kind"), Str(p, "a"), Str(p, "b"), Cell(p.value("types", Json()))});
    }
    return rows;
  };
  Rows invalidated;
  for (const Json& i : Array(d, "invalidated_resources")) {
    invalidated.push_back({Str(i, "resource"), Str(i, "label")});
  }
  const Json dry = d.value("dry_run", Json::object());
  const Json& violations = Array(dry, "violations");
  std::string verdict = dry.value("accepted", false)
                            ? "accepted\n"
                            : fmt::format("refused, {} violation{}:\n", violations.size(),
                                          violations.size() == 1 ? "" : "s");
  for (const Json& v : violations) {
    const std::vector<std::string> domains = Strings(v, "domains");
    verdict +=
        fmt::format("  - {}: {}{}\n", Str(v, "kind"), Str(v, "message"),
                    domains.empty() ? "" : fmt::format(" [domains: {}]", fmt::join(domains, " ")));
  }
  const std::vector<std::string> header = {"Kind", "Label", "Label", "STE types"};
  return fmt::format("Policy diff: {} -> {}\n\n", PolicyName(d.value("old", Json::object())),
                     PolicyName(d.value("new", Json::object()))) +
         Line("VM label renames", renames("vm_renames")) +
         Line("Resource label renames", renames("resource_renames")) +
         Line("VM labels added", Strings(d, "vm_labels_added")) +
         Line("VM labels removed", Strings(d, "vm_labels_removed")) +
         Line("Resource labels added", Strings(d, "resource_labels_added")) +
         Line("Resource labels removed", Strings(d, "resource_labels_removed")) + "\n" +
         Section("Sharing gained", header, pairs("sharing_gained")) + "\n" +
         Section("Sharing lost", header, pairs("sharing_lost")) + "\n" +
         Conflicts("Chinese Wall conflicts added", Array(d, "conflicts_added")) + "\n" +
         Conflicts("Chinese Wall conflicts dropped", Array(d, "conflicts_dropped")) + "\n" +
         Section("Resource labels invalidated", {"Resource", "Label"}, invalidated) + "\n" +
         "Dry run against the running host (setpolicy --check): " + verdict;
}

}  // namespace shype::cli
