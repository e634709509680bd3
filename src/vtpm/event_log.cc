// SPDX-License-Identifier: Apache-2.0
//
// The event log's JSON (nlohmann-json), its strict parser and its replay (OpenSSL SHA-256).
#include "shype/vtpm/event_log.h"

#include <openssl/sha.h>

#include <nlohmann/json.hpp>

#include "shype/common/file.h"

namespace shype::vtpm {
namespace {

using Json = nlohmann::json;

Digest Sha(std::string_view text) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

struct Expected {
  std::string_view type;
  std::uint32_t pcr;
  bool has_data;
  bool required;
};
constexpr Expected kOrder[] = {{"shype-record", kRecordPcr, true, true},
                               {"cmdline", kCmdlinePcr, true, false},
                               {"kernel", kImagePcr, false, false},
                               {"initrd", kImagePcr, false, false}};

Result<Event> ParseEvent(const Json& j, std::size_t index, std::size_t& next) {
  auto where = [&](std::string_view field) {
    return fmt::format("event {}{}: {}", index,
                       j.is_object() && j.contains("type") && j["type"].is_string()
                           ? fmt::format(" ({})", j["type"].get<std::string>())
                           : "",
                       field);
  };
  if (!j.is_object()) return Fail(ErrorCode::kInvalidArgument, "event {}: not an object", index);
  for (const auto& [key, value] : j.items()) {
    if (key != "pcr" && key != "type" && key != "digest" && key != "data") {
      return Fail(ErrorCode::kInvalidArgument, "{}: unknown field", where(key));
    }
  }
  if (!j.contains("type") || !j["type"].is_string()) {
    return Fail(ErrorCode::kInvalidArgument, "{}: missing or not a string", where("type"));
  }
  Event e;
  e.type = j["type"].get<std::string>();
  while (next < std::size(kOrder) && kOrder[next].type != e.type) {
    if (kOrder[next].required) break;
    ++next;
  }
  if (next >= std::size(kOrder) || kOrder[next].type != e.type) {
    return Fail(ErrorCode::kInvalidArgument,
                "{}: unexpected here (the order is shype-record, cmdline, kernel, initrd, each "
                "at most once, shype-record first)",
                where("type"));
  }
  const Expected& want = kOrder[next++];
  if (!j.contains("pcr") || !j["pcr"].is_number_unsigned() ||
      j["pcr"].get<std::uint64_t>() != want.pcr) {
    return Fail(ErrorCode::kInvalidArgument, "{}: must be {}", where("pcr"), want.pcr);
  }
  e.pcr = want.pcr;
  if (!j.contains("digest") || !j["digest"].is_string()) {
    return Fail(ErrorCode::kInvalidArgument, "{}: missing or not a string", where("digest"));
  }
  auto digest = ParseHex(j["digest"].get<std::string>());
  if (!digest || digest->size() != 32) {
    return Fail(ErrorCode::kInvalidArgument, "{}: not 64 hex digits", where("digest"));
  }
  std::copy(digest->begin(), digest->end(), e.digest.begin());
  if (want.has_data) {
    if (!j.contains("data") || !j["data"].is_string()) {
      return Fail(ErrorCode::kInvalidArgument, "{}: missing or not a string", where("data"));
    }
    e.data = j["data"].get<std::string>();
    if (Sha(*e.data) != e.digest) {
      return Fail(ErrorCode::kInvalidArgument, "{}: its SHA-256 is not the digest", where("data"));
    }
  } else if (j.contains("data")) {
    return Fail(ErrorCode::kInvalidArgument, "{}: this event carries none", where("data"));
  }
  return e;
}

// A string member, or "" when it is missing or of another type (json::value would throw).
std::string StringField(const Json& j, std::string_view field) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> Strings(const Json& j, std::string_view field) {
  std::vector<std::string> out;
  if (!j.contains(field) || !j[field].is_array()) return out;
  for (const Json& s : j[field]) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace

std::string Hex(std::span<const std::uint8_t> bytes) { return HexEncode(bytes); }

Result<std::vector<std::uint8_t>> ParseHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Fail(ErrorCode::kInvalidArgument, "an odd number of hex digits");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::uint8_t> out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return Fail(ErrorCode::kInvalidArgument, "'{}' is not a hex digit",
                  hi < 0 ? hex[i] : hex[i + 1]);
    }
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

std::string LaunchRecordJson(const LaunchRecord& r) {
  Json j = {{"domain", r.domain},
            {"label", r.label},
            {"policy", r.policy},
            {"policy_version", r.policy_version},
            {"policy_hash", r.policy_hash},
            {"ste_types", r.ste_types},
            {"chwall_types", r.chwall_types},
            {"vtpm", r.vtpm}};
  return j.dump();  // keys sorted: one record, one text
}

Result<LaunchRecord> ParseLaunchRecord(std::string_view json) {
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, "the shype record is not a JSON object");
  }
  auto text = [&](std::string_view f) -> Result<std::string> {
    if (!j.contains(f) || !j[f].is_string()) {
      return Fail(ErrorCode::kInvalidArgument, "the shype record's '{}' is missing", f);
    }
    return j[f].get<std::string>();
  };
  LaunchRecord r;
  for (auto [field, out] : {std::pair{"domain", &r.domain},
                            {"label", &r.label},
                            {"policy", &r.policy},
                            {"policy_version", &r.policy_version},
                            {"policy_hash", &r.policy_hash},
                            {"vtpm", &r.vtpm}}) {
    auto v = text(field);
    if (!v) return Fail(v.error());
    *out = std::move(*v);
  }
  r.ste_types = Strings(j, "ste_types");
  r.chwall_types = Strings(j, "chwall_types");
  return r;
}

EventLog MakeLaunchLog(const LaunchRecord& record, const std::optional<std::string>& cmdline,
                       const std::optional<Digest>& kernel, const std::optional<Digest>& initrd) {
  EventLog log;
  const std::string text = LaunchRecordJson(record);
  log.events.push_back(Event{kRecordPcr, "shype-record", Sha(text), text});
  if (cmdline) log.events.push_back(Event{kCmdlinePcr, "cmdline", Sha(*cmdline), *cmdline});
  if (kernel) log.events.push_back(Event{kImagePcr, "kernel", *kernel, std::nullopt});
  if (initrd) log.events.push_back(Event{kImagePcr, "initrd", *initrd, std::nullopt});
  return log;
}

std::string EventLogJson(const EventLog& log) {
  Json events = Json::array();
  for (const Event& e : log.events) {
    Json j = {{"pcr", e.pcr}, {"type", e.type}, {"digest", Hex(e.digest)}};
    if (e.data) j["data"] = *e.data;
    events.push_back(std::move(j));
  }
  Json out = {{"format", "shype-eventlog"}, {"version", 1}, {"hash", "sha256"}, {"events", events}};
  return out.dump(2) + "\n";
}

Result<EventLog> ParseEventLog(std::string_view json) {
  if (json.size() > kMaxEventLogBytes) {
    return Fail(ErrorCode::kInvalidArgument, "larger than {} bytes", kMaxEventLogBytes);
  }
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded()) return Fail(ErrorCode::kInvalidArgument, "not valid JSON");
  if (!j.is_object() || StringField(j, "format") != "shype-eventlog") {
    return Fail(ErrorCode::kInvalidArgument, "not a shype event log (format 'shype-eventlog')");
  }
  if (!j.contains("version") || j["version"] != 1 || StringField(j, "hash") != "sha256") {
    return Fail(ErrorCode::kInvalidArgument, "only version 1 with hash 'sha256' is known");
  }
  if (!j.contains("events") || !j["events"].is_array() || j["events"].empty()) {
    return Fail(ErrorCode::kInvalidArgument, "events: missing, not a list, or empty");
  }
  EventLog log;
  std::size_t next = 0;
  for (std::size_t i = 0; i < j["events"].size(); ++i) {
    auto e = ParseEvent(j["events"][i], i, next);
    if (!e) return Fail(e.error());
    // SECURITY: kernel and initrd both extend PCR 9 with an image's digest; an initrd needs the
    // kernel just before it, so a kernel's digest cannot be presented as an initrd's.
    if (e->type == "initrd" && log.events.back().type != "kernel") {
      return Fail(ErrorCode::kInvalidArgument, "event {} (initrd): no kernel before it", i);
    }
    log.events.push_back(std::move(*e));
  }
  auto record = ParseLaunchRecord(*log.events.front().data);
  if (!record) return Fail(record.error().WithContext("event 0 (shype-record): data"));
  return log;
}

std::array<Digest, kMeasuredPcrs.size()> Replay(const EventLog& log) {
  std::array<Digest, kMeasuredPcrs.size()> pcrs{};
  for (const Event& e : log.events) {
    for (std::size_t i = 0; i < kMeasuredPcrs.size(); ++i) {
      if (kMeasuredPcrs[i] != e.pcr) continue;
      unsigned char both[64];
      std::copy(pcrs[i].begin(), pcrs[i].end(), both);
      std::copy(e.digest.begin(), e.digest.end(), both + 32);
      SHA256(both, sizeof(both), pcrs[i].data());
    }
  }
  return pcrs;
}

Digest PcrDigest(const std::array<Digest, kMeasuredPcrs.size()>& values) {
  std::vector<unsigned char> all;
  for (const Digest& v : values) all.insert(all.end(), v.begin(), v.end());
  Digest d{};
  SHA256(all.data(), all.size(), d.data());
  return d;
}

}  // namespace shype::vtpm
