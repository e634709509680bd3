// SPDX-License-Identifier: Apache-2.0
//
// Tests of the typed commands: each operation's decoding, each kind of bad field, the round
// trip through the encoder, and the one-to-one tie between endpoints and commands.
#include "shype/api/command.h"

#include <gtest/gtest.h>

#include <set>

namespace shype::api {
namespace {

Result<Command> Decode(std::string_view op, const Json& params) {
  auto endpoint = FindEndpoint(op);
  EXPECT_TRUE(endpoint) << op;
  if (!endpoint) return Fail(ErrorCode::kInternal, "no endpoint {}", op);
  return DecodeCommand(*endpoint, params);
}

template <class T>
T DecodeAs(std::string_view op, const Json& params) {
  auto command = Decode(op, params);
  EXPECT_TRUE(command) << op << ": " << command.error().message;
  if (!command || !std::holds_alternative<T>(*command)) {
    ADD_FAILURE() << op << " decoded to another command";
    return T{};
  }
  return std::get<T>(*command);
}

std::string DecodeError(std::string_view op, const Json& params) {
  auto command = Decode(op, params);
  EXPECT_FALSE(command) << op << " decoded from " << params.dump();
  if (command) return "";
  EXPECT_EQ(command.error().code, ErrorCode::kInvalidArgument);
  return command.error().message;
}

TEST(CommandTest, EveryEndpointDecodesToTheCommandNamingIt) {
  std::set<std::string_view> seen;
  for (const Endpoint& e : Endpoints()) {
    // The minimal valid parameters of each operation.
    Json params{{"name", "d"},      {"xml", "<x/>"},     {"config", "c"}, {"resource", "vnet:1"},
                {"label", "l"},     {"vif", "vnet=lan"}, {"vnet", "lan"}, {"shm", "name=r"},
                {"region", "r"},    {"vdev", "xvdb"},    {"file", "/f"},  {"version", "1.0"},
                {"new_xml", "<y/>"}};
    auto command = DecodeCommand(e, params);
    ASSERT_TRUE(command) << e.op << ": " << command.error().message;
    EXPECT_EQ(OpOf(*command), e.op);
    EXPECT_EQ(EncodeCommand(*command).endpoint.path, e.path);
    EXPECT_TRUE(seen.insert(OpOf(*command)).second) << e.op << " shares its command";
  }
  EXPECT_EQ(seen.size(), std::variant_size_v<Command>);
}

TEST(CommandTest, EveryCommandHasOneEndpoint) {
  auto check = [](const auto& c) {
    using T = std::decay_t<decltype(c)>;
    std::size_t rows = 0;
    for (const Endpoint& e : Endpoints()) rows += e.op == T::kOp ? 1U : 0U;
    EXPECT_EQ(rows, 1U) << T::kOp;
  };
  Command commands[] = {GetVersion{},       GetPolicy{},          SetPolicy{},
                        ResetPolicy{},      DumpPolicy{},         AnalyzePolicy{},
                        DiffPolicies{},     ListLabels{},         ListResources{},
                        GetResourceLabel{}, AddResourceLabel{},   RemoveResourceLabel{},
                        DryRun{},           GetStats{},           ListDomains{},
                        CreateDomain{},     GetDomainInfo{},      ShutdownDomain{},
                        DestroyDomain{},    PauseDomain{},        UnpauseDomain{},
                        GetConsoleLog{},    AttachNetwork{},      DetachNetwork{},
                        AttachRegion{},     DetachRegion{},       AttachDisk{},
                        DetachDisk{},       RelabelDomain{},      SaveDomain{},
                        RestoreDomain{},    ListRegions{},        ListNetworks{},
                        GetNetworkInfo{},   ReadAudit{},          ListVtpms{},
                        GetVtpmCa{},        DestroyVtpm{},        AttestDomain{},
                        SavePolicy{},       ListPolicyVersions{}, GetPolicyVersion{}};
  static_assert(std::size(commands) == std::variant_size_v<Command>);
  std::set<std::size_t> indexes;
  for (const Command& c : commands) {
    std::visit(check, c);
    indexes.insert(c.index());
  }
  EXPECT_EQ(indexes.size(), std::variant_size_v<Command>);
}

TEST(CommandTest, SetPolicyDecodesItsFieldsWithDefaults) {
  EXPECT_EQ(DecodeAs<SetPolicy>("policy.set", {{"xml", "<p/>"}}),
            (SetPolicy{"<p/>", "policy.xml", false, false}));
  EXPECT_EQ(DecodeAs<SetPolicy>("policy.set",
                                {{"xml", "<p/>"}, {"source", "a.xml"}, {"check_only", true}}),
            (SetPolicy{"<p/>", "a.xml", true, false}));
  EXPECT_EQ(DecodeAs<SetPolicy>("policy.set", {{"xml", "<p/>"}, {"source", nullptr}}).source,
            "policy.xml");
}

TEST(CommandTest, PolicyVersionCommandsNeedTheirFields) {
  EXPECT_EQ(DecodeAs<SavePolicy>("policy.save", {{"xml", "<p/>"}}),
            (SavePolicy{"<p/>", "policy.xml"}));
  EXPECT_EQ(DecodeAs<GetPolicyVersion>("policy.version.get", {{"name", "p"}, {"version", "1.0"}}),
            (GetPolicyVersion{"p", "1.0"}));
  auto no_xml = DecodeCommand(*FindEndpoint("policy.save"), Json::object());
  ASSERT_FALSE(no_xml);
  EXPECT_NE(no_xml.error().message.find("'xml'"), std::string::npos) << no_xml.error().message;
  auto no_version = DecodeCommand(*FindEndpoint("policy.version.get"), Json{{"name", "p"}});
  ASSERT_FALSE(no_version);
  EXPECT_NE(no_version.error().message.find("'version'"), std::string::npos);
}

TEST(CommandTest, AnalyzeAndDiffTakeTheActivePolicyWithoutXml) {
  EXPECT_EQ(DecodeAs<AnalyzePolicy>("policy.analyze", Json::object()),
            (AnalyzePolicy{std::nullopt, "policy.xml"}));
  EXPECT_EQ(DecodeAs<AnalyzePolicy>("policy.analyze", {{"xml", "<p/>"}, {"source", "a.xml"}}),
            (AnalyzePolicy{"<p/>", "a.xml"}));
  EXPECT_EQ(DecodeAs<DiffPolicies>("policy.diff", {{"new_xml", "<n/>"}}),
            (DiffPolicies{"<n/>", "new.xml", std::nullopt, "old.xml"}));
  EXPECT_EQ(DecodeAs<DiffPolicies>("policy.diff", {{"new_xml", "<n/>"},
                                                   {"new_source", "n.xml"},
                                                   {"old_xml", "<o/>"},
                                                   {"old_source", "o.xml"}}),
            (DiffPolicies{"<n/>", "n.xml", "<o/>", "o.xml"}));
  EXPECT_EQ(DecodeError("policy.analyze", {{"xml", 1}}),
            "field 'xml' must be a string, got number");
  EXPECT_EQ(DecodeError("policy.diff", {{"old_xml", "<o/>"}}),
            "field 'new_xml' is missing (a string is expected)");
  EXPECT_EQ(DecodeError("policy.diff", {{"new_xml", "<n/>"}, {"old_xml", false}}),
            "field 'old_xml' must be a string, got boolean");
  EXPECT_EQ(FindEndpoint("policy.analyze")->offline, OfflineUse::kReads);
  EXPECT_EQ(FindEndpoint("policy.diff")->offline, OfflineUse::kReads);
}

TEST(CommandTest, ABadFieldIsRefusedNamingItAndWhatWasExpected) {
  EXPECT_EQ(DecodeError("policy.set", Json::object()),
            "field 'xml' is missing (a string is expected)");
  EXPECT_EQ(DecodeError("policy.set", {{"xml", 1}}), "field 'xml' must be a string, got number");
  EXPECT_EQ(DecodeError("policy.set", {{"xml", "x"}, {"check_only", "yes"}}),
            "field 'check_only' must be a boolean, got string");
  EXPECT_EQ(DecodeError("policy.set", {{"xml", "x"}, {"source", false}}),
            "field 'source' must be a string, got boolean");
  EXPECT_EQ(DecodeError("domain.create", {{"config", 42}}),
            "field 'config' must be a string, got number");
  EXPECT_EQ(DecodeError("dry-run", {{"config", "c"}, {"path", Json::array()}}),
            "field 'path' must be a string, got array");
  EXPECT_EQ(DecodeError("resource.label.add", {{"resource", "vnet:1"}}),
            "field 'label' is missing (a string is expected)");
  EXPECT_EQ(DecodeError("resource.label.add", {{"resource", "r"}, {"label", "l"}, {"policy", 3}}),
            "field 'policy' must be a string, got number");
  EXPECT_EQ(DecodeError("resource.label.get", Json::object()),
            "field 'resource' is missing (a string is expected)");
  EXPECT_EQ(DecodeError("labels", {{"type", 1}}), "field 'type' must be a string, got number");
  EXPECT_EQ(DecodeError("domain.list", Json::array()),
            "domain.list: the parameters must be a JSON object, got array");
}

TEST(CommandTest, EveryDomainActionNeedsAName) {
  for (std::string_view op : {"domain.info", "domain.shutdown", "domain.destroy", "domain.pause",
                              "domain.unpause", "domain.console-log"}) {
    EXPECT_EQ(DecodeError(op, Json::object()), "field 'name' is missing (a string is expected)")
        << op;
    EXPECT_EQ(DecodeError(op, {{"name", 7}}), "field 'name' must be a string, got number") << op;
  }
  EXPECT_EQ(DecodeAs<DestroyDomain>("domain.destroy", {{"name", "web"}}), DestroyDomain{"web"});
  EXPECT_EQ(DecodeAs<PauseDomain>("domain.pause", {{"name", "web"}}), PauseDomain{"web"});
  EXPECT_EQ(DecodeAs<GetConsoleLog>("domain.console-log", {{"name", "w"}}), GetConsoleLog{"w"});
}

TEST(CommandTest, AnAttestationNonceIsHexOfAtMost64Bytes) {
  EXPECT_EQ(DecodeAs<AttestDomain>("domain.attest", {{"name", "bank"}}),
            (AttestDomain{"bank", ""}));
  EXPECT_EQ(DecodeAs<AttestDomain>("domain.attest", {{"name", "b"}, {"nonce", "00ff"}}),
            (AttestDomain{"b", "00ff"}));
  for (const char* bad : {"0", "zz", "0x00"}) {
    EXPECT_EQ(DecodeError("domain.attest", {{"name", "b"}, {"nonce", bad}}),
              "field 'nonce' must be an even number of hex digits, at most 128 (64 bytes)")
        << bad;
  }
  EXPECT_FALSE(DecodeCommand(*FindEndpoint("domain.attest"),
                             {{"name", "b"}, {"nonce", std::string(130, 'a')}}));
  EXPECT_EQ(DecodeAs<DestroyVtpm>("vtpm.destroy", {{"name", "bank"}}), DestroyVtpm{"bank"});
}

TEST(CommandTest, SaveAndRestoreTakeAnAbsoluteImageFile) {
  EXPECT_EQ(DecodeAs<SaveDomain>("domain.save", {{"name", "web"}, {"file", "/var/save/web"}}),
            (SaveDomain{"web", "/var/save/web"}));
  EXPECT_EQ(DecodeAs<RestoreDomain>("domain.restore", {{"file", "/var/save/web"}}),
            RestoreDomain{"/var/save/web"});
  EXPECT_EQ(DecodeError("domain.save", {{"name", "web"}, {"file", "web.img"}}),
            "field 'file' must be an absolute path, not 'web.img'");
  EXPECT_EQ(DecodeError("domain.restore", {{"file", ""}}),
            "field 'file' must be an absolute path, not ''");
  EXPECT_EQ(DecodeError("domain.restore", Json::object()),
            "field 'file' is missing (a string is expected)");
  EXPECT_EQ(DecodeError("domain.save", {{"file", "/x"}}),
            "field 'name' is missing (a string is expected)");
}

TEST(CommandTest, ShutdownTimeoutIsOneToThreeThousandSixHundredSeconds) {
  using std::chrono::seconds;
  EXPECT_EQ(DecodeAs<ShutdownDomain>("domain.shutdown", {{"name", "d"}}).timeout, seconds(30));
  EXPECT_EQ(DecodeAs<ShutdownDomain>("domain.shutdown", {{"name", "d"}, {"timeout", 5}}).timeout,
            seconds(5));
  EXPECT_EQ(
      DecodeAs<ShutdownDomain>("domain.shutdown", {{"name", "d"}, {"timeout", "3600"}}).timeout,
      seconds(3600));
  for (const Json& bad : {Json(0), Json(3601), Json(-1), Json(1.5), Json("x"), Json(nullptr)}) {
    EXPECT_EQ(DecodeError("domain.shutdown", {{"name", "d"}, {"timeout", bad}}),
              "timeout must be 1..3600 seconds, got '" +
                  (bad.is_string() ? bad.get<std::string>() : bad.dump()) + "'");
  }
}

TEST(CommandTest, AuditTailAndFollowComeAsQueryText) {
  EXPECT_EQ(DecodeAs<ReadAudit>("audit", Json::object()), (ReadAudit{100, false}));
  EXPECT_EQ(DecodeAs<ReadAudit>("audit", {{"tail", "0"}, {"follow", "true"}}),
            (ReadAudit{0, true}));
  EXPECT_EQ(DecodeAs<ReadAudit>("audit", {{"tail", 1000000}, {"follow", false}}),
            (ReadAudit{1000000, false}));
  EXPECT_EQ(DecodeError("audit", {{"tail", "abc"}}),
            "query parameter 'tail' must be a number of lines 0..1000000, got 'abc'");
  EXPECT_EQ(DecodeError("audit", {{"tail", -1}}),
            "query parameter 'tail' must be a number of lines 0..1000000, got '-1'");
  EXPECT_EQ(DecodeError("audit", {{"tail", "1000001"}}),
            "query parameter 'tail' must be a number of lines 0..1000000, got '1000001'");
  EXPECT_EQ(DecodeError("audit", {{"follow", "yes"}}),
            "query parameter 'follow' must be true or false, got 'yes'");
}

TEST(CommandTest, UnknownFieldsAreIgnoredAsBefore) {
  EXPECT_EQ(DecodeAs<GetVersion>("version", {{"extra", 1}}), GetVersion{});
  EXPECT_EQ(DecodeAs<CreateDomain>("domain.create", {{"config", "c"}, {"force", true}}),
            (CreateDomain{"c", "config"}));
}

TEST(CommandTest, EveryCommandReEncodesToParamsThatDecodeToItAgain) {
  Command commands[] = {
      SetPolicy{"<p/>", "s.xml", true, true},
      AnalyzePolicy{},
      AnalyzePolicy{"<p/>", "p.xml"},
      DiffPolicies{"<n/>", "n.xml", std::nullopt, "old.xml"},
      DiffPolicies{"<n/>", "n.xml", "<o/>", "o.xml"},
      ListLabels{"any", "ACM:demo"},
      ListLabels{},
      AddResourceLabel{"file:/a b", "L", ""},
      AddResourceLabel{"vnet:1", "L", "demo"},
      RemoveResourceLabel{"vnet:1"},
      DryRun{"name = 'x'", "/tmp/x.cfg"},
      CreateDomain{"name = 'x'", "config"},
      ShutdownDomain{"web", std::chrono::seconds(7)},
      GetConsoleLog{"caf\xC3\xA9"},
      ReadAudit{0, true},
      SavePolicy{"<p/>", "draft.xml"},
      GetPolicyVersion{"shype-demo", "1.1"},
  };
  for (const Command& c : commands) {
    EncodedCommand encoded = EncodeCommand(c);
    EXPECT_EQ(encoded.endpoint.op, OpOf(c));
    auto back = DecodeCommand(encoded.endpoint, encoded.params);
    ASSERT_TRUE(back) << OpOf(c) << ": " << back.error().message;
    EXPECT_EQ(*back, c) << OpOf(c) << " " << encoded.params.dump();
  }
}

// GET parameters travel as query text: what BuildTarget writes, the decoder reads back.
TEST(CommandTest, AuditEncodesToTheQueryTheDaemonReads) {
  EncodedCommand encoded = EncodeCommand(ReadAudit{5, true});
  auto target = BuildTarget(encoded.endpoint, encoded.params);
  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->target, "/v1/audit?follow=true&tail=5");
  EXPECT_EQ(DecodeAs<ReadAudit>("audit", {{"follow", "true"}, {"tail", "5"}}),
            (ReadAudit{5, true}));
}

}  // namespace
}  // namespace shype::api
