// SPDX-License-Identifier: Apache-2.0
//
// The guard's refusals first — no token, a wrong one, no cookie, another site, another name
// (DNS rebinding), a missing or wrong CSRF header, a body that is not JSON — then what it lets
// through.
#include "guard.h"

#include <gtest/gtest.h>

#include <set>

namespace shype::web {
namespace {

const std::string kToken(64, 'a');
const std::string kCsrf(64, 'c');
const std::string kCookie = "shype_session=" + kToken;

class GuardTest : public ::testing::Test {
 protected:
  // A same-origin request of a logged-in page.
  RequestFacts Good(std::string_view method = "GET", std::string_view path = "/web/session") {
    RequestFacts r;
    r.method = method;
    r.path = path;
    r.host = {"127.0.0.1:8080"};
    r.cookie = {cookie_};
    if (method != "GET") r.csrf = {kCsrf};
    return r;
  }
  unsigned StatusOf(const RequestFacts& r) const {
    Verdict v = guard_.Check(r);
    return v ? 200 : v.error().status;
  }

  Guard guard_{Secrets{kToken, kCsrf}, {"127.0.0.1:8080", "localhost:8080"}};
  std::string cookie_ = kCookie;
};

TEST_F(GuardTest, RefusesARequestWithoutCookie) {
  RequestFacts r = Good();
  r.cookie.clear();
  Verdict v = guard_.Check(r);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().status, 401u);
  EXPECT_EQ(v.error().code, "unauthenticated");
  EXPECT_NE(v.error().message.find("open the URL shype web printed"), std::string::npos);
}

TEST_F(GuardTest, RefusesAWrongCookie) {
  RequestFacts r = Good();
  cookie_ = "shype_session=" + std::string(64, 'b');
  r.cookie = {cookie_};
  EXPECT_EQ(StatusOf(r), 401u);
}

TEST_F(GuardTest, RefusesACookieThatIsOnlyAPrefixOfTheToken) {
  RequestFacts r = Good();
  cookie_ = "shype_session=" + kToken.substr(0, 63);
  r.cookie = {cookie_};
  EXPECT_EQ(StatusOf(r), 401u);
}

TEST_F(GuardTest, RefusesATokenUnderAnotherCookieName) {
  RequestFacts r = Good();
  cookie_ = "other_session=" + kToken;
  r.cookie = {cookie_};
  EXPECT_EQ(StatusOf(r), 401u);
}

TEST_F(GuardTest, RefusesAWrongTokenInTheUrlEvenWithAValidCookie) {
  RequestFacts r = Good("GET", "/");
  const std::string query = "token=" + std::string(64, 'b');
  r.query = query;
  Verdict v = guard_.Check(r);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().status, 401u);
  EXPECT_NE(v.error().message.find("token in the URL is wrong"), std::string::npos);
}

TEST_F(GuardTest, RefusesAnEmptyTokenInTheUrl) {
  RequestFacts r = Good("GET", "/");
  r.cookie.clear();
  r.query = "token=";
  EXPECT_EQ(StatusOf(r), 401u);
}

TEST_F(GuardTest, DoesNotAcceptTheTokenInTheUrlOfOtherPaths) {
  RequestFacts r = Good("GET", "/api/v1/version");
  r.cookie.clear();
  const std::string query = "token=" + kToken;
  r.query = query;
  EXPECT_EQ(StatusOf(r), 401u);
}

TEST_F(GuardTest, RefusesAnotherHostNameAsDnsRebinding) {
  RequestFacts r = Good();
  r.host = {"evil.example:8080"};
  Verdict v = guard_.Check(r);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().status, 403u);
  EXPECT_NE(v.error().message.find("DNS rebinding"), std::string::npos);
}

TEST_F(GuardTest, RefusesTheRightHostOnAnotherPort) {
  RequestFacts r = Good();
  r.host = {"127.0.0.1:8081"};
  EXPECT_EQ(StatusOf(r), 403u);
}

TEST_F(GuardTest, RefusesAMissingOrRepeatedHostHeader) {
  RequestFacts r = Good();
  r.host.clear();
  EXPECT_EQ(StatusOf(r), 403u);
  r.host = {"127.0.0.1:8080", "evil.example"};
  EXPECT_EQ(StatusOf(r), 403u);
}

TEST_F(GuardTest, RefusesAForeignOrigin) {
  RequestFacts r = Good("POST", "/api/v1/policy/reset");
  r.origin = {"http://evil.example"};
  Verdict v = guard_.Check(r);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().status, 403u);
  EXPECT_NE(v.error().message.find("cross-origin"), std::string::npos);
}

TEST_F(GuardTest, RefusesAnOriginOfAnotherPortOfThisHost) {
  // SameSite treats ports alike; the Origin check does not.
  RequestFacts r = Good("POST", "/api/v1/policy/reset");
  r.origin = {"http://127.0.0.1:9999"};
  EXPECT_EQ(StatusOf(r), 403u);
}

TEST_F(GuardTest, RefusesTheNullOrigin) {
  RequestFacts r = Good();
  r.origin = {"null"};
  EXPECT_EQ(StatusOf(r), 403u);
}

TEST_F(GuardTest, RefusesCrossSiteAndSameSiteFetches) {
  for (std::string_view site : {"cross-site", "same-site", "bogus"}) {
    RequestFacts r = Good();
    r.sec_fetch_site = {site};
    EXPECT_EQ(StatusOf(r), 403u) << site;
  }
}

TEST_F(GuardTest, RefusesCrossSiteBeforeLookingAtTheToken) {
  RequestFacts r = Good("GET", "/");
  r.cookie.clear();
  const std::string query = "token=" + kToken;
  r.query = query;
  r.sec_fetch_site = {"cross-site"};
  EXPECT_EQ(StatusOf(r), 403u);
}

TEST_F(GuardTest, RefusesStateChangesWithoutTheCsrfHeader) {
  for (std::string_view method : {"POST", "PUT", "DELETE"}) {
    RequestFacts r = Good(method, "/api/v1/resource-labels");
    r.csrf.clear();
    Verdict v = guard_.Check(r);
    ASSERT_FALSE(v) << method;
    EXPECT_EQ(v.error().status, 403u);
    EXPECT_NE(v.error().message.find("X-Shype-CSRF"), std::string::npos);
  }
}

TEST_F(GuardTest, RefusesAWrongCsrfHeader) {
  for (std::string_view wrong :
       {std::string_view(kToken), std::string_view(""), std::string_view(kCsrf).substr(1)}) {
    RequestFacts r = Good("POST", "/api/v1/policy/reset");
    r.csrf = {wrong};
    EXPECT_EQ(StatusOf(r), 403u) << wrong;
  }
}

TEST_F(GuardTest, RefusesARepeatedCsrfHeader) {
  RequestFacts r = Good("POST", "/api/v1/policy/reset");
  r.csrf = {kCsrf, "x"};
  EXPECT_EQ(StatusOf(r), 403u);
}

TEST_F(GuardTest, RefusesABodyThatIsNotSentAsJson) {
  RequestFacts r = Good("PUT", "/api/v1/policy");
  r.body_bytes = 10;
  EXPECT_EQ(StatusOf(r), 415u);  // no Content-Type
  r.content_type = {"text/plain"};
  EXPECT_EQ(StatusOf(r), 415u);  // what a cross-site form could send
  r.content_type = {"application/x-www-form-urlencoded"};
  EXPECT_EQ(StatusOf(r), 415u);
}

TEST_F(GuardTest, RefusesOtherMethods) {
  for (std::string_view method : {"PATCH", "OPTIONS", "TRACE", "HEAD", "CONNECT"}) {
    EXPECT_EQ(StatusOf(Good(method)), 405u) << method;
  }
}

TEST_F(GuardTest, LogsInWithTheRightTokenInTheUrl) {
  RequestFacts r = Good("GET", "/");
  r.cookie.clear();
  const std::string query = "token=" + kToken;
  r.query = query;
  r.sec_fetch_site = {"none"};  // typed or pasted into the address bar
  Verdict v = guard_.Check(r);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, Pass::kLogin);
  EXPECT_EQ(guard_.SessionCookie(),
            "shype_session=" + kToken + "; HttpOnly; SameSite=Strict; Path=/");
}

TEST_F(GuardTest, LetsASameOriginPageThrough) {
  RequestFacts r = Good("POST", "/api/v1/policy/reset");
  r.origin = {"http://127.0.0.1:8080"};
  r.sec_fetch_site = {"same-origin"};
  r.content_type = {"application/json; charset=utf-8"};
  r.body_bytes = 2;
  Verdict v = guard_.Check(r);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, Pass::kProceed);
}

TEST_F(GuardTest, AcceptsLocalhostAsTheHostOnLoopback) {
  RequestFacts r = Good();
  r.host = {"localhost:8080"};
  r.origin = {"http://localhost:8080"};
  EXPECT_EQ(StatusOf(r), 200u);
}

TEST_F(GuardTest, FindsTheSessionAmongOtherCookies) {
  RequestFacts r = Good();
  cookie_ = "theme=dark; shype_session=" + std::string(64, 'b') + ";  shype_session=" + kToken;
  r.cookie = {cookie_};
  EXPECT_EQ(StatusOf(r), 200u);
}

TEST(SecretsTest, AreFreshRandomHexOf32Bytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 4; ++i) {
    auto secrets = MakeSecrets();
    ASSERT_TRUE(secrets) << secrets.error().message;
    for (const std::string& s : {secrets->token, secrets->csrf}) {
      EXPECT_EQ(s.size(), 64u);
      EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos) << s;
      EXPECT_TRUE(seen.insert(s).second) << "repeated: " << s;
    }
  }
}

TEST(ConstantTimeEqualTest, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEqual("", "a"));
}

}  // namespace
}  // namespace shype::web
