// SPDX-License-Identifier: Apache-2.0
//
// Request parameters <-> typed commands: the one place where the API's fields are read and
// written. Each command has a Decode and an Encode overload; DecodeCommand picks by endpoint.
#include "shype/api/command.h"

#include <charconv>
#include <type_traits>

#include "shype/api/text.h"

namespace shype::api {
namespace {

template <class T>
using Tag = std::type_identity<T>;

// A parameter as text: strings as they are, anything else as its JSON (a query value is always
// a string; a body may carry the number 30 or the boolean true).
std::string AsText(const Json& value) {
  return value.is_string() ? value.get<std::string>() : DumpJson(value);
}

Result<std::chrono::seconds> DecodeTimeout(const Json& p) {
  auto it = p.find("timeout");
  if (it == p.end()) return std::chrono::seconds(30);
  const std::string text = AsText(*it);
  int seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || seconds <= 0 || seconds > 3600) {
    return Fail(ErrorCode::kInvalidArgument, "timeout must be 1..3600 seconds, got '{}'", text);
  }
  return std::chrono::seconds(seconds);
}

Result<std::uint32_t> DecodeTail(const Json& p) {
  auto it = p.find("tail");
  if (it == p.end()) return 100U;
  const std::string text = AsText(*it);
  std::uint32_t tail = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), tail);
  if (ec != std::errc() || end != text.data() + text.size() || tail > 1000000) {
    return Fail(ErrorCode::kInvalidArgument,
                "query parameter 'tail' must be a number of lines 0..1000000, got '{}'", text);
  }
  return tail;
}

Result<bool> DecodeFollow(const Json& p) {
  auto it = p.find("follow");
  if (it == p.end()) return false;
  const std::string text = AsText(*it);
  if (text != "true" && text != "false") {
    return Fail(ErrorCode::kInvalidArgument,
                "query parameter 'follow' must be true or false, got '{}'", text);
  }
  return text == "true";
}

// Commands without parameters.
template <class T>
concept EmptyCommand = std::is_empty_v<T>;

template <EmptyCommand T>
Result<T> Decode(Tag<T>, const Json&) {
  return T{};
}
template <EmptyCommand T>
Json Encode(const T&) {
  return Json::object();
}

// Commands whose only parameter is one required string.
template <class T>
concept NamedCommand = std::same_as<T, GetDomainInfo> || std::same_as<T, DestroyDomain> ||
    std::same_as<T, PauseDomain> || std::same_as<T, UnpauseDomain> ||
    std::same_as<T, GetConsoleLog> || std::same_as<T, GetNetworkInfo> ||
    std::same_as<T, DestroyVtpm>;

template <NamedCommand T>
Result<T> Decode(Tag<T>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  return T{std::move(*name)};
}
template <NamedCommand T>
Json Encode(const T& c) {
  return Json{{"name", c.name}};
}

Result<SetPolicy> Decode(Tag<SetPolicy>, const Json& p) {
  auto xml = RequireString(p, "xml");
  if (!xml) return Fail(xml.error());
  auto source = OptionalString(p, "source", "policy.xml");
  if (!source) return Fail(source.error());
  auto check_only = OptionalBool(p, "check_only", false);
  if (!check_only) return Fail(check_only.error());
  auto revoke = OptionalBool(p, "revoke", false);
  if (!revoke) return Fail(revoke.error());
  return SetPolicy{std::move(*xml), std::move(*source), *check_only, *revoke};
}
Json Encode(const SetPolicy& c) {
  return Json{
      {"xml", c.xml}, {"source", c.source}, {"check_only", c.check_only}, {"revoke", c.revoke}};
}

Result<SavePolicy> Decode(Tag<SavePolicy>, const Json& p) {
  auto xml = RequireString(p, "xml");
  if (!xml) return Fail(xml.error());
  auto source = OptionalString(p, "source", "policy.xml");
  if (!source) return Fail(source.error());
  return SavePolicy{std::move(*xml), std::move(*source)};
}
Json Encode(const SavePolicy& c) { return Json{{"xml", c.xml}, {"source", c.source}}; }

Result<GetPolicyVersion> Decode(Tag<GetPolicyVersion>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  auto version = RequireString(p, "version");
  if (!version) return Fail(version.error());
  return GetPolicyVersion{std::move(*name), std::move(*version)};
}
Json Encode(const GetPolicyVersion& c) { return Json{{"name", c.name}, {"version", c.version}}; }

// An optional text field: absent is nullopt, anything but a string an error naming it.
Result<std::optional<std::string>> MaybeString(const Json& p, std::string_view field) {
  if (!p.contains(field)) return std::optional<std::string>();
  auto text = RequireString(p, field);
  if (!text) return Fail(text.error());
  return std::optional<std::string>(std::move(*text));
}

Result<AnalyzePolicy> Decode(Tag<AnalyzePolicy>, const Json& p) {
  auto xml = MaybeString(p, "xml");
  if (!xml) return Fail(xml.error());
  auto source = OptionalString(p, "source", "policy.xml");
  if (!source) return Fail(source.error());
  return AnalyzePolicy{std::move(*xml), std::move(*source)};
}
Json Encode(const AnalyzePolicy& c) {
  Json p{{"source", c.source}};
  if (c.xml) p["xml"] = *c.xml;
  return p;
}

Result<DiffPolicies> Decode(Tag<DiffPolicies>, const Json& p) {
  auto new_xml = RequireString(p, "new_xml");
  if (!new_xml) return Fail(new_xml.error());
  auto new_source = OptionalString(p, "new_source", "new.xml");
  if (!new_source) return Fail(new_source.error());
  auto old_xml = MaybeString(p, "old_xml");
  if (!old_xml) return Fail(old_xml.error());
  auto old_source = OptionalString(p, "old_source", "old.xml");
  if (!old_source) return Fail(old_source.error());
  return DiffPolicies{std::move(*new_xml), std::move(*new_source), std::move(*old_xml),
                      std::move(*old_source)};
}
Json Encode(const DiffPolicies& c) {
  Json p{{"new_xml", c.new_xml}, {"new_source", c.new_source}, {"old_source", c.old_source}};
  if (c.old_xml) p["old_xml"] = *c.old_xml;
  return p;
}

Result<ListLabels> Decode(Tag<ListLabels>, const Json& p) {
  auto type = OptionalString(p, "type", "dom");
  if (!type) return Fail(type.error());
  auto policy = OptionalString(p, "policy", "");
  if (!policy) return Fail(policy.error());
  return ListLabels{std::move(*type), std::move(*policy)};
}
Json Encode(const ListLabels& c) {
  Json p{{"type", c.type}};
  if (!c.policy.empty()) p["policy"] = c.policy;
  return p;
}

// Commands whose only parameter is one resource.
template <class T>
concept ResourceCommand = std::same_as<T, GetResourceLabel> || std::same_as<T, RemoveResourceLabel>;

template <ResourceCommand T>
Result<T> Decode(Tag<T>, const Json& p) {
  auto resource = RequireString(p, "resource");
  if (!resource) return Fail(resource.error());
  return T{std::move(*resource)};
}
template <ResourceCommand T>
Json Encode(const T& c) {
  return Json{{"resource", c.resource}};
}

Result<AddResourceLabel> Decode(Tag<AddResourceLabel>, const Json& p) {
  auto resource = RequireString(p, "resource");
  if (!resource) return Fail(resource.error());
  auto label = RequireString(p, "label");
  if (!label) return Fail(label.error());
  auto policy = OptionalString(p, "policy", "");
  if (!policy) return Fail(policy.error());
  return AddResourceLabel{std::move(*resource), std::move(*label), std::move(*policy)};
}
Json Encode(const AddResourceLabel& c) {
  Json p{{"resource", c.resource}, {"label", c.label}};
  if (!c.policy.empty()) p["policy"] = c.policy;
  return p;
}

// dry-run and create carry a domain configuration and its file name.
template <class T>
concept ConfigCommand = std::same_as<T, DryRun> || std::same_as<T, CreateDomain>;

template <ConfigCommand T>
Result<T> Decode(Tag<T>, const Json& p) {
  auto config = RequireString(p, "config");
  if (!config) return Fail(config.error());
  auto path = OptionalString(p, "path", "config");
  if (!path) return Fail(path.error());
  return T{std::move(*config), std::move(*path)};
}
template <ConfigCommand T>
Json Encode(const T& c) {
  return Json{{"config", c.config}, {"path", c.path}};
}

Result<ShutdownDomain> Decode(Tag<ShutdownDomain>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  auto timeout = DecodeTimeout(p);
  if (!timeout) return Fail(timeout.error());
  return ShutdownDomain{std::move(*name), *timeout};
}
Json Encode(const ShutdownDomain& c) {
  return Json{{"name", c.name}, {"timeout", c.timeout.count()}};
}

Result<AttachNetwork> Decode(Tag<AttachNetwork>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  auto vif = RequireString(p, "vif");
  if (!vif) return Fail(vif.error());
  return AttachNetwork{std::move(*name), std::move(*vif)};
}
Json Encode(const AttachNetwork& c) { return Json{{"name", c.name}, {"vif", c.vif}}; }

Result<DetachNetwork> Decode(Tag<DetachNetwork>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  auto vnet = RequireString(p, "vnet");
  if (!vnet) return Fail(vnet.error());
  return DetachNetwork{std::move(*name), std::move(*vnet)};
}
Json Encode(const DetachNetwork& c) { return Json{{"name", c.name}, {"vnet", c.vnet}}; }

Result<AttachRegion> Decode(Tag<AttachRegion>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  auto shm = RequireString(p, "shm");
  if (!shm) return Fail(shm.error());
  return AttachRegion{std::move(*name), std::move(*shm)};
}
Json Encode(const AttachRegion& c) { return Json{{"name", c.name}, {"shm", c.shm}}; }

Result<DetachRegion> Decode(Tag<DetachRegion>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  auto region = RequireString(p, "region");
  if (!region) return Fail(region.error());
  return DetachRegion{std::move(*name), std::move(*region)};
}
Json Encode(const DetachRegion& c) { return Json{{"name", c.name}, {"region", c.region}}; }

Result<AttachDisk> Decode(Tag<AttachDisk>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  auto resource = RequireString(p, "resource");
  if (!resource) return Fail(resource.error());
  auto vdev = RequireString(p, "vdev");
  if (!vdev) return Fail(vdev.error());
  std::string mode = "r";
  if (p.contains("mode")) {
    auto given = RequireString(p, "mode");
    if (!given) return Fail(given.error());
    mode = std::move(*given);
  }
  // The three make one disk entry ("RESOURCE,VDEV,MODE"): a comma would smuggle in a field.
  for (const std::string* value : {&*resource, &*vdev, &mode}) {
    if (value->find(',') != std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument, "field '{}' must not contain ','",
                  value == &mode    ? "mode"
                  : value == &*vdev ? "vdev"
                                    : "resource");
    }
  }
  if (mode != "r" && mode != "ro" && mode != "w" && mode != "rw") {
    return Fail(ErrorCode::kInvalidArgument, "field 'mode' must be r or w, not '{}'", mode);
  }
  return AttachDisk{std::move(*name), std::move(*resource), std::move(*vdev), std::move(mode)};
}
Json Encode(const AttachDisk& c) {
  return Json{{"name", c.name}, {"resource", c.resource}, {"vdev", c.vdev}, {"mode", c.mode}};
}

Result<DetachDisk> Decode(Tag<DetachDisk>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  auto vdev = RequireString(p, "vdev");
  if (!vdev) return Fail(vdev.error());
  return DetachDisk{std::move(*name), std::move(*vdev)};
}
Json Encode(const DetachDisk& c) { return Json{{"name", c.name}, {"vdev", c.vdev}}; }

Result<RelabelDomain> Decode(Tag<RelabelDomain>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  auto label = RequireString(p, "label");
  if (!label) return Fail(label.error());
  if (label->empty()) return Fail(ErrorCode::kInvalidArgument, "field 'label' is empty");
  auto policy = OptionalString(p, "policy", "");
  if (!policy) return Fail(policy.error());
  return RelabelDomain{std::move(*name), std::move(*label), std::move(*policy)};
}
Json Encode(const RelabelDomain& c) {
  Json p{{"name", c.name}, {"label", c.label}};
  if (!c.policy.empty()) p["policy"] = c.policy;
  return p;
}

Result<AttestDomain> Decode(Tag<AttestDomain>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  auto nonce = OptionalString(p, "nonce", "");
  if (!nonce) return Fail(nonce.error());
  if (nonce->size() > 128 || nonce->size() % 2 != 0 ||
      nonce->find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                "field 'nonce' must be an even number of hex digits, at most 128 (64 bytes)");
  }
  return AttestDomain{std::move(*name), std::move(*nonce)};
}
Json Encode(const AttestDomain& c) {
  Json p{{"name", c.name}};
  if (!c.nonce.empty()) p["nonce"] = c.nonce;
  return p;
}

// An image file's name: absolute, so that it does not depend on shyped's working directory.
Result<std::string> RequireImageFile(const Json& p) {
  auto file = RequireString(p, "file");
  if (!file) return Fail(file.error());
  if (file->empty() || file->front() != '/') {
    return Fail(ErrorCode::kInvalidArgument, "field 'file' must be an absolute path, not '{}'",
                *file);
  }
  return file;
}

Result<SaveDomain> Decode(Tag<SaveDomain>, const Json& p) {
  auto name = RequireString(p, "name");
  if (!name) return Fail(name.error());
  auto file = RequireImageFile(p);
  if (!file) return Fail(file.error());
  return SaveDomain{std::move(*name), std::move(*file)};
}
Json Encode(const SaveDomain& c) { return Json{{"name", c.name}, {"file", c.file}}; }

Result<RestoreDomain> Decode(Tag<RestoreDomain>, const Json& p) {
  auto file = RequireImageFile(p);
  if (!file) return Fail(file.error());
  return RestoreDomain{std::move(*file)};
}
Json Encode(const RestoreDomain& c) { return Json{{"file", c.file}}; }

Result<ReadAudit> Decode(Tag<ReadAudit>, const Json& p) {
  auto tail = DecodeTail(p);
  if (!tail) return Fail(tail.error());
  auto follow = DecodeFollow(p);
  if (!follow) return Fail(follow.error());
  return ReadAudit{*tail, *follow};
}
Json Encode(const ReadAudit& c) { return Json{{"tail", c.tail}, {"follow", c.follow}}; }

template <std::size_t I = 0>
Result<Command> DecodeAt(const Endpoint& endpoint, const Json& p) {
  if constexpr (I == std::variant_size_v<Command>) {
    return Fail(ErrorCode::kInternal, "operation '{}' has no command", endpoint.op);
  } else {
    using T = std::variant_alternative_t<I, Command>;
    if (T::kOp != endpoint.op) return DecodeAt<I + 1>(endpoint, p);
    auto command = Decode(Tag<T>{}, p);
    if (!command) return Fail(command.error());
    return Command(std::move(*command));
  }
}

}  // namespace

Result<Command> DecodeCommand(const Endpoint& endpoint, const Json& params) {
  if (!params.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, "{}: the parameters must be a JSON object, got {}",
                endpoint.op, params.type_name());
  }
  return DecodeAt(endpoint, params);
}

EncodedCommand EncodeCommand(const Command& command) {
  return std::visit(
      [](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        // endpoints.cc's static_assert: every command's op is a row of the table.
        return EncodedCommand{*FindEndpoint(T::kOp), Encode(c)};
      },
      command);
}

std::string_view OpOf(const Command& command) {
  return std::visit([](const auto& c) { return std::decay_t<decltype(c)>::kOp; }, command);
}

}  // namespace shype::api
