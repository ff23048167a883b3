#include "operator/options.h"

#include <gtest/gtest.h>

namespace gotestrun::operator_main {
namespace {

StatusOr<OperatorOptions> Parse(std::vector<std::string> args) { return ParseOperatorFlags(args); }

TEST(OperatorFlags, DefaultsNeedOnlyTheProfilesDir) {
  auto o = Parse({"--profiles-dir", "/profiles"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->profiles_dir, "/profiles");
  EXPECT_EQ(o->workers, 2);
  EXPECT_EQ(o->http_port, 8081);
  EXPECT_FALSE(o->leader_elect);
  EXPECT_TRUE(o->watch_namespaces.empty());
  EXPECT_EQ(o->lease_name, "gotestrun-operator");
}

TEST(OperatorFlags, BothSpellingsOfAValue) {
  auto o = Parse({"--profiles-dir=/p", "--workers=4", "--http-port", "0", "--leader-elect", "--lease-namespace=ops",
                  "--identity", "pod-a", "--agent-image", "reg/op:1", "--agent-path=/bin/agent"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->profiles_dir, "/p");
  EXPECT_EQ(o->workers, 4);
  EXPECT_EQ(o->http_port, 0);
  EXPECT_TRUE(o->leader_elect);
  EXPECT_EQ(o->lease_namespace, "ops");
  EXPECT_EQ(o->identity, "pod-a");
  EXPECT_EQ(o->agent_image, "reg/op:1");
  EXPECT_EQ(o->agent_path, "/bin/agent");
}

TEST(OperatorFlags, WatchNamespacesIsAListAndNamespaceIsOneOfIt) {
  auto o = Parse({"--profiles-dir=/p", "--watch-namespaces", "ci,team-a,,"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->watch_namespaces, (std::vector<std::string>{"ci", "team-a"}));
  o = Parse({"--profiles-dir=/p", "--namespace", "ci"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->watch_namespaces, (std::vector<std::string>{"ci"}));
  o = Parse({"--profiles-dir=/p", "--watch-namespaces="});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->watch_namespaces.empty());
}

struct Refused {
  std::vector<std::string> args;
  std::string says;
};

TEST(OperatorFlags, RefusalsNameTheFlagAndWhatItTakes) {
  const std::vector<Refused> cases = {
      {{}, "--profiles-dir is required"},
      {{"--profiles-dir=/p", "--workers", "two"}, "--workers takes a whole number from 1 to 64, not \"two\""},
      {{"--profiles-dir=/p", "--workers", "0"}, "--workers takes a whole number from 1 to 64"},
      {{"--profiles-dir=/p", "--workers", "99999999999999999999"}, "--workers takes a whole number"},
      {{"--profiles-dir=/p", "--http-port", "70000"}, "--http-port takes a whole number from 0 to 65535"},
      {{"--profiles-dir=/p", "--http-port", "8081x"}, "--http-port takes a whole number"},
      {{"--profiles-dir=/p", "--watch-namespaces", "Team_A"}, "\"Team_A\" is not a namespace name"},
      {{"--profiles-dir=/p", "--workres", "3"}, "unknown flag --workres"},
      {{"--profiles-dir"}, "--profiles-dir needs a value"},
      {{"--profiles-dir=/p", "stray"}, "unexpected argument \"stray\""},
      {{"--profiles-dir=/p", "--lease-duration", "4"}, "--lease-duration takes a duration from 100ms to 1h"},
      {{"--profiles-dir=/p", "--retry-period=10ms"}, "--retry-period takes a duration"},
      {{"--profiles-dir=/p", "--lease-duration=5s"}, "--renew-deadline shorter than --lease-duration"},
      {{"--profiles-dir=/p", "--retry-period=12s"}, "--retry-period must be shorter than --renew-deadline"},
  };
  for (const Refused& c : cases) {
    auto o = Parse(c.args);
    ASSERT_FALSE(o.ok()) << testing::PrintToString(c.args);
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(o.status().message().find(c.says), std::string::npos) << o.status().message();
  }
}

TEST(OperatorFlags, LeaseTimingsAreGoDurations) {
  auto o = Parse({"--profiles-dir=/p"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->lease_duration, std::chrono::seconds(15));
  EXPECT_EQ(o->renew_deadline, std::chrono::seconds(10));
  EXPECT_EQ(o->retry_period, std::chrono::seconds(2));
  o = Parse({"--profiles-dir=/p", "--lease-duration=4s", "--renew-deadline", "3s", "--retry-period=500ms"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->lease_duration, std::chrono::seconds(4));
  EXPECT_EQ(o->renew_deadline, std::chrono::seconds(3));
  EXPECT_EQ(o->retry_period, std::chrono::milliseconds(500));
}

TEST(OperatorFlags, HelpAndVersionNeedNothingElse) {
  auto o = Parse({"--version"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->version);
  o = Parse({"-h"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
}

}  // namespace
}  // namespace gotestrun::operator_main
