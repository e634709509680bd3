// SPDX-License-Identifier: Apache-2.0
//
// xm-compatible text output for the CLI.
#include "format.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "shype/api/text.h"
#include "shype/common/label_kind.h"

namespace shype::cli {
namespace {

std::string Str(const Json& j, const char* key, std::string fallback = "") {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->is_string() ? it->get<std::string>() : api::DumpJson(*it);
}

// A resource label's kind as the reply spells it ("ACM", "INV_ACM"); "ACM" if absent.
std::string KindOf(const Json& j, const char* key) {
  return Str(j, key, std::string(LabelKindName(LabelKind::kAcm)));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string FormatGetPolicy(const Json& p) {
  std::string config =
      p.value("loaded", false) ? "loaded, activated for boot" : "activated for boot";
  return fmt::format(
      "Supported security subsystems   : ACM \n\n"
      "Policy name           : {}\n"
      "Policy type           : ACM\n"
      "Reference             : {}\n"
      "Version of XML policy : {}\n"
      "Policy configuration  : {}\n",
      Str(p, "name"), Str(p, "reference"), Str(p, "version"), config);
}

std::string FormatPolicyVersions(const Json& reply) {
  std::vector<std::array<std::string, 4>> rows{{"NAME", "VERSION", "REFERENCE", "ACTIVE"}};
  for (const auto& v : reply.value("versions", Json::array())) {
    rows.push_back(
        {Str(v, "name"), Str(v, "version"), Str(v, "hash"), v.value("active", false) ? "*" : ""});
  }
  std::array<std::size_t, 4> width{};
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line = fmt::format("{:<{}}  {:<{}}  {:<{}}  {}", r[0], width[0], r[1], width[1],
                                   r[2], width[2], r[3]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string FormatLabels(const Json& labels) {
  std::string out;
  for (const auto& l : labels.value("labels", Json::array())) {
    out += (l.is_string() ? l.get<std::string>() : api::DumpJson(l)) + "\n";
  }
  return out;
}

std::string FormatResourceLabel(const Json& label) {
  return fmt::format("{}:{}:{}\n", KindOf(label, "policy_type"), Str(label, "policy"),
                     Str(label, "label"));
}

std::string FormatResources(const Json& resources) {
  std::string out;
  for (const auto& r : resources.value("resources", Json::array())) {
    out += fmt::format("{}\n      type: {}\n    policy: {}\n    label:  {}\n", Str(r, "resource"),
                       KindOf(r, "policy_type"), Str(r, "policy"), Str(r, "label"));
  }
  return out;
}

std::string FormatDryRun(const Json& report) {
  std::string out = "Checking domain:\n";
  const Json& dom = report.at("domain");
  bool dom_ok = dom.value("permitted", false);
  out += fmt::format("   {}: {}\n", Str(dom, "name"), dom_ok ? "PERMITTED" : "DENIED");
  if (!dom_ok) out += fmt::format("   --> {}\n", Str(dom, "reason"));
  if (!dom_ok) {
    out += "Checking resources: (skipped)\n";
  } else {
    out += "Checking resources:\n";
    for (const auto& r : report.value("resources", Json::array())) {
      bool ok = r.value("permitted", false);
      out += fmt::format("   {}: {}\n", Str(r, "resource"), ok ? "PERMITTED" : "DENIED");
      if (!ok) {
        out += fmt::format("   --> res: {} ({}:{})\n", Str(r, "res_label", "__UNLABELED__"),
                           KindOf(r, "res_policy_type"), Str(r, "res_policy"));
        out += fmt::format("   --> dom: {} ({}:{})\n", Str(dom, "label"),
                           LabelKindName(LabelKind::kAcm), Str(dom, "policy"));
        if (r.contains("reason")) out += fmt::format("   --> {}\n", Str(r, "reason"));
      }
    }
  }
  const Json& cw = report.value("chinese_wall", Json::object());
  if (!cw.value("checked", false)) {
    out += fmt::format("Checking Chinese Wall: NOT CHECKED\n   --> {}\n",
                       Str(cw, "reason", "shyped is not running"));
  } else {
    bool ok = cw.value("permitted", false);
    out += "Checking Chinese Wall:\n";
    out += fmt::format("   {}: {}\n", Str(dom, "name"), ok ? "PERMITTED" : "DENIED");
    if (!ok) out += fmt::format("   --> {}\n", Str(cw, "reason"));
  }
  const Json refusals = report.value("refusals", Json::array());
  out += refusals.empty() ? "Checking create: PERMITTED\n" : "Checking create: DENIED\n";
  auto text = [](const Json& j) { return j.is_string() ? j.get<std::string>() : api::DumpJson(j); };
  for (const auto& r : refusals) out += fmt::format("   --> {}\n", text(r));
  for (const auto& u : report.value("unchecked", Json::array())) {
    out += fmt::format("   (not checked: {})\n", text(u));
  }
  out += report.value("passed", false) ? "Dry Run: PASSED\n" : "Dry Run: FAILED\n";
  return out;
}

std::string FormatDomainList(const Json& list, bool with_label) {
  const Json domains = list.value("domains", Json::array());
  std::vector<Json> rows(domains.begin(), domains.end());
  std::string out;
  if (with_label) {
    std::stable_sort(rows.begin(), rows.end(), [](const Json& a, const Json& b) {
      return Lower(Str(a, "label")) < Lower(Str(b, "label"));
    });
    out += fmt::format("{:<40} {:>5} {:>5} {:>5} {:>10} {:>9} {:<10}\n", "Name", "ID", "Mem",
                       "VCPUs", "State", "Time(s)", "Label");
  } else {
    out += fmt::format("{:<40} {:>5} {:>5} {:>5} {:>10} {:>9}\n", "Name", "ID", "Mem", "VCPUs",
                       "State", "Time(s)");
  }
  for (const Json& d : rows) {
    std::string line = fmt::format("{:<40} {:>5} {:>5} {:>5} {:>10} {:>9.1f}", Str(d, "name"),
                                   d.value("id", 0), d.value("memory", 0), d.value("vcpus", 0),
                                   Str(d, "state"), d.value("time", 0.0));
    if (with_label) line += " " + Str(d, "label");
    out += line + "\n";
  }
  return out;
}

std::string FormatRegionList(const Json& list) {
  std::string out = fmt::format("{:<30} {:>10} {}\n", "Region", "Size", "Peers");
  for (const Json& region : list.value("regions", Json::array())) {
    std::string peers;
    for (const Json& p : region.value("peers", Json::array())) {
      peers += fmt::format("{}{}={}{}", peers.empty() ? "" : ",", p.value("peer", 0),
                           Str(p, "domain"), p.value("connected", true) ? "" : "(leaving)");
    }
    out += fmt::format("{:<30} {:>10} {}\n", Str(region, "name"),
                       region.value("size", std::uint64_t{0}), peers);
  }
  return out;
}

std::string FormatNetworkList(const Json& list) {
  std::string out = fmt::format("{:<30} {:>5} {:>12} {:>12} {:>10}\n", "Network", "Ports",
                                "RX frames", "TX frames", "Dropped");
  for (const Json& net : list.value("networks", Json::array())) {
    std::uint64_t rx = 0, tx = 0, dropped = 0;
    const Json ports = net.value("ports", Json::array());
    for (const Json& p : ports) {
      rx += p.value("rx_frames", std::uint64_t{0});
      tx += p.value("tx_frames", std::uint64_t{0});
      const Json drops = p.value("drops", Json::object());
      for (auto& [reason, n] : drops.items()) dropped += n.get<std::uint64_t>();
    }
    out += fmt::format("{:<30} {:>5} {:>12} {:>12} {:>10}\n", Str(net, "name"), ports.size(), rx,
                       tx, dropped);
  }
  return out;
}

std::string FormatNetwork(const Json& network) {
  std::string out =
      fmt::format("Network {} ({})\n", Str(network, "name"), Str(network, "resource"));
  out += fmt::format("{:>5} {:<20} {:<17} {:<5} {:>10} {:>10} {:<30} {}\n", "Port", "Domain", "MAC",
                     "Link", "RX frames", "TX frames", "Dropped", "Reaches");
  for (const Json& p : network.value("ports", Json::array())) {
    std::string drops;
    const Json counts = p.value("drops", Json::object());
    for (auto& [reason, n] : counts.items()) {
      if (n.get<std::uint64_t>() > 0) {
        drops += fmt::format("{}{}={}", drops.empty() ? "" : ",", reason, n.get<std::uint64_t>());
      }
    }
    std::string reaches;
    for (const Json& r : p.value("reaches", Json::array())) {
      reaches += (reaches.empty() ? "" : ",") + Str(r, "domain");
    }
    out +=
        fmt::format("{:>5} {:<20} {:<17} {:<5} {:>10} {:>10} {:<30} {}\n", p.value("port", 0),
                    Str(p, "domain"), Str(p, "mac"), p.value("connected", false) ? "up" : "down",
                    p.value("rx_frames", std::uint64_t{0}), p.value("tx_frames", std::uint64_t{0}),
                    drops.empty() ? "-" : drops, reaches.empty() ? "-" : reaches);
    if (!p.value("connected", false))
      out += fmt::format("      closed: {}\n", Str(p, "closed_why"));
  }
  return out;
}

std::string FormatDomainInfo(const Json& info) {
  std::string out;
  for (auto& [key, value] : info.items()) {
    out += fmt::format("{:<14} {}\n", key + ":",
                       value.is_string() ? value.get<std::string>() : api::DumpJson(value));
  }
  return out;
}

std::string FormatAuditRecord(const Json& r) {
  return fmt::format("{} {} {} subject={} object={} policy={} reason={}", Str(r, "time"),
                     Str(r, "decision"), Str(r, "hook"), Str(r, "subject"), Str(r, "object"),
                     Str(r, "policy"), Str(r, "reason"));
}

}  // namespace shype::cli
