// SPDX-License-Identifier: Apache-2.0
//
// domain.json: the persisted facts about one running domain.
#include "domain_record.h"

#include <nlohmann/json.hpp>

#include "shype/api/text.h"
#include "shype/common/file.h"

namespace shype::daemon {

using Json = nlohmann::json;

std::string_view DomainStateName(DomainState state) {
  switch (state) {
    case DomainState::kCreating:
      return "creating";
    case DomainState::kRunning:
      return "running";
    case DomainState::kPaused:
      return "paused";
    case DomainState::kShuttingDown:
      return "shutting down";
  }
  return "unknown";
}

namespace {

// A persisted state: only kCreating and kRunning are ever written.
std::optional<DomainState> ParseRecordedState(std::string_view text) {
  if (text == "creating") return DomainState::kCreating;
  if (text == "running") return DomainState::kRunning;
  return std::nullopt;
}

}  // namespace

Result<void> SaveDomainRecord(const std::filesystem::path& dir, const DomainRecord& r) {
  // A live state is persisted as the guest having run (recovery asks QEMU whether it is paused).
  const DomainState recorded =
      r.state == DomainState::kCreating ? DomainState::kCreating : DomainState::kRunning;
  Json j{{"id", r.id.value()},
         {"name", r.name},
         {"policy", r.policy},
         {"label", r.label},
         {"ssidref", r.ssidref.value()},
         {"state", DomainStateName(recorded)},
         {"pid", r.pid},
         {"start_time", r.start_time},
         {"memory_mib", r.memory_mib},
         {"vcpus", r.vcpus},
         {"config_path", r.config_path},
         {"resources", r.resources},
         {"created_at", r.created_at},
         {"uid", r.uid},
         {"disks", Json::array()},
         {"held", Json::array()},
         {"frozen", r.frozen}};
  for (const auto& [key, list] : {std::pair{"disks", &r.disks}, std::pair{"held", &r.held}}) {
    for (const DiskRecord& d : *list) {
      j[key].push_back(Json{{"vdev", d.vdev},
                            {"id", d.id},
                            {"writable", d.writable},
                            {"resources", d.resources},
                            {"identities", d.identities}});
    }
  }
  // SECURITY: strict: a record that cannot be written exactly is an error the caller rolls back
  // (nlohmann's dump() threw on a non-UTF-8 config path after the domain was half created).
  auto text = api::DumpJsonStrict(j, 2);
  if (!text) {
    return Fail(text.error().WithContext(
        fmt::format("cannot write the record of domain '{}'", api::EscapeBytes(r.name))));
  }
  // SECURITY: never write a record recovery would refuse to read (a restart would then fail).
  if (text->size() + 1 > kMaxDomainRecordBytes) {
    return Fail(ErrorCode::kInvalidArgument,
                "the record of domain '{}' would be {} bytes, more than the {} a restarted shyped "
                "reads",
                api::EscapeBytes(r.name), text->size() + 1, kMaxDomainRecordBytes);
  }
  return WriteFileAtomic(dir / "domain.json", *text + "\n", 0600);
}

Result<DomainRecord> LoadDomainRecord(const std::filesystem::path& dir) {
  auto text = ReadTextFileBounded(dir / "domain.json", kMaxDomainRecordBytes);
  if (!text) return Fail(text.error());
  Json j = Json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Fail(ErrorCode::kIo, "'{}' is not a valid domain record",
                (dir / "domain.json").string());
  }
  DomainRecord r;
  try {
    r.id = DomainId{j.at("id").get<std::uint32_t>()};
    r.name = j.at("name").get<std::string>();
    r.policy = j.at("policy").get<std::string>();
    r.label = j.at("label").get<std::string>();
    r.ssidref = Ssidref{j.at("ssidref").get<std::uint32_t>()};
    auto state = ParseRecordedState(j.at("state").get<std::string>());
    if (!state) {
      return Fail(ErrorCode::kIo, "'{}': state '{}' is neither 'creating' nor 'running'",
                  (dir / "domain.json").string(), j.at("state").get<std::string>());
    }
    r.state = *state;
    r.pid = j.at("pid").get<int>();
    r.start_time = j.at("start_time").get<std::uint64_t>();
    r.memory_mib = j.at("memory_mib").get<std::uint32_t>();
    r.vcpus = j.at("vcpus").get<std::uint32_t>();
    r.config_path = j.at("config_path").get<std::string>();
    r.resources = j.at("resources").get<std::vector<std::string>>();
    r.created_at = j.at("created_at").get<std::int64_t>();
    r.uid = j.value("uid", std::uint32_t{0});
    r.frozen = j.value("frozen", std::string());
    for (const auto& [key, list] : {std::pair{"disks", &r.disks}, std::pair{"held", &r.held}}) {
      for (const Json& d : j.value(key, Json::array())) {
        list->push_back(DiskRecord{d.at("vdev").get<std::string>(), d.at("id").get<std::string>(),
                                   d.at("writable").get<bool>(),
                                   d.at("resources").get<std::vector<std::string>>(),
                                   d.at("identities").get<std::vector<std::string>>()});
      }
    }
  } catch (const Json::exception& e) {  // adapter: nlohmann reports type errors by throwing
    return Fail(ErrorCode::kIo, "'{}': {}", (dir / "domain.json").string(), e.what());
  }
  return r;
}

}  // namespace shype::daemon
