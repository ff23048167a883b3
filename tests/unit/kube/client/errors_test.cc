#include "kube/client/errors.h"

#include <httplib.h>
#include <gtest/gtest.h>

#include "kube/client/resource.h"

namespace gotestrun::kube {
namespace {

struct HttpCase {
  int http;
  const char* body;
  StatusCode code;
  const char* reason;
  const char* message_part;
};

class HttpMappingTest : public ::testing::TestWithParam<HttpCase> {};

TEST_P(HttpMappingTest, MapsOnce) {
  const HttpCase& c = GetParam();
  Status s = StatusFromHttp(c.http, c.body);
  EXPECT_EQ(s.code(), c.code) << s;
  EXPECT_EQ(s.reason(), c.reason) << s;
  EXPECT_NE(s.message().find(c.message_part), std::string::npos) << s;
}

INSTANTIATE_TEST_SUITE_P(
    Table, HttpMappingTest,
    ::testing::Values(
        HttpCase{404, R"({"kind":"Status","reason":"NotFound","message":"configmaps \"x\" not found","code":404})",
                 StatusCode::kNotFound, "NotFound", "configmaps \"x\" not found"},
        HttpCase{409, R"({"kind":"Status","reason":"Conflict","message":"the object has been modified","code":409})",
                 StatusCode::kAborted, "Conflict", "modified"},
        HttpCase{409, R"({"kind":"Status","reason":"AlreadyExists","message":"already exists","code":409})",
                 StatusCode::kAlreadyExists, "AlreadyExists", "already exists"},
        HttpCase{410, R"({"kind":"Status","reason":"Expired","message":"too old resource version","code":410})",
                 StatusCode::kOutOfRange, "Expired", "too old"},
        HttpCase{410, "", StatusCode::kOutOfRange, "Expired", "HTTP 410"},
        HttpCase{422, R"({"kind":"Status","reason":"Invalid","message":"spec.resources.memory: Invalid value"})",
                 StatusCode::kInvalidArgument, "Invalid", "spec.resources.memory"},
        HttpCase{400, R"({"kind":"Status","reason":"BadRequest","message":"bad"})", StatusCode::kInvalidArgument,
                 "BadRequest", "bad"},
        HttpCase{401, R"({"kind":"Status","reason":"Unauthorized","message":"Unauthorized"})",
                 StatusCode::kUnauthenticated, "Unauthorized", "Unauthorized"},
        HttpCase{403, R"({"kind":"Status","reason":"Forbidden","message":"cannot list pods"})",
                 StatusCode::kPermissionDenied, "Forbidden", "cannot list pods"},
        HttpCase{429, R"({"kind":"Status","reason":"TooManyRequests","message":"slow down"})", StatusCode::kUnavailable,
                 "TooManyRequests", "slow down"},
        HttpCase{500, "<html>oops</html>", StatusCode::kUnavailable, "", "HTTP 500: <html>oops</html>"},
        HttpCase{503, "", StatusCode::kUnavailable, "", "HTTP 503"},
        HttpCase{504, R"({"kind":"Status","reason":"Timeout","message":"timed out"})", StatusCode::kUnavailable,
                 "Timeout", "timed out"},
        HttpCase{405, "", StatusCode::kUnimplemented, "", "HTTP 405"},
        HttpCase{418, "{not json", StatusCode::kFailedPrecondition, "", "HTTP 418: {not json"}));

TEST(HttpMapping, LongBodiesAreShortened) {
  Status s = StatusFromHttp(502, std::string(10000, 'x'));
  EXPECT_LT(s.message().size(), 300u);
}

TEST(TransportMapping, CancelledIsNotRetriedAndCertificatesAreConfigErrors) {
  EXPECT_EQ(StatusFromTransport(static_cast<int>(httplib::Error::Connection), "GET /").code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromTransport(static_cast<int>(httplib::Error::Read), "GET /").code(), StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromTransport(static_cast<int>(httplib::Error::Canceled), "GET /").code(), StatusCode::kCancelled);
  EXPECT_EQ(StatusFromTransport(static_cast<int>(httplib::Error::SSLServerVerification), "GET /").code(),
            StatusCode::kFailedPrecondition);
}

TEST(ResourcePaths, CoreCustomAndClusterScoped) {
  EXPECT_EQ(ResourceType::ConfigMaps().ObjectPath("ns1", "a"), "/api/v1/namespaces/ns1/configmaps/a");
  EXPECT_EQ(ResourceType::ConfigMaps().CollectionPath(""), "/api/v1/configmaps");
  ResourceType gtr{"gotestrun.dev", "v1alpha1", "gotestruns", true};
  EXPECT_EQ(gtr.ObjectPath("ci", "payments"), "/apis/gotestrun.dev/v1alpha1/namespaces/ci/gotestruns/payments");
  EXPECT_EQ(gtr.Name(), "gotestruns.gotestrun.dev");
  EXPECT_EQ(ResourceType::Nodes().ObjectPath("ignored", "n1"), "/api/v1/nodes/n1");
}

TEST(ResourcePaths, QueriesAreEscaped) {
  ListOptions o;
  o.label_selector = "app=x,tier!=db";
  o.limit = 500;
  o.continue_token = "abc/+=";
  EXPECT_EQ(ListQuery(o), "?labelSelector=app%3Dx%2Ctier%21%3Ddb&limit=500&continue=abc%2F%2B%3D");
  WatchOptions w;
  w.resource_version = "42";
  w.timeout_seconds = 290;
  EXPECT_EQ(WatchQuery(w), "?watch=true&resourceVersion=42&allowWatchBookmarks=true&timeoutSeconds=290");
}

TEST(ObjectKeys, NamespacedClusterScopedAndMalformed) {
  EXPECT_EQ(ObjectKey(Json::parse(R"({"metadata":{"namespace":"a","name":"b"}})")), "a/b");
  EXPECT_EQ(ObjectKey(Json::parse(R"({"metadata":{"name":"node1"}})")), "node1");
  EXPECT_EQ(ObjectKey(Json::parse(R"({"metadata":7})")), "");
  EXPECT_EQ(ObjectKey(Json::parse(R"([1,2])")), "");
  EXPECT_EQ(ResourceVersionOf(Json::parse(R"({"metadata":{"resourceVersion":"12"}})")), "12");
  EXPECT_EQ(ResourceVersionOf(Json::parse(R"({"metadata":{"resourceVersion":12}})")), "");
}

}  // namespace
}  // namespace gotestrun::kube
