#include "agent/command_line.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Args = std::vector<std::string>;

TEST(ParseRunArgsTest, AllOptions) {
  const Args args{"--dir",
                  "/v/a1",
                  "--module-dir=/src",
                  "--parallel",
                  "4",
                  "--p=2",
                  "--gomemlimit",
                  "512MiB",
                  "--heap-interval",
                  "500ms",
                  "--timeout",
                  "20m",
                  "--tags",
                  "integration,slow",
                  "--flag",
                  "-race",
                  "--flag=-count=1",
                  "./...",
                  "--flag",
                  "-run",
                  "--flag",
                  "TestX",
                  "./cmd/..."};
  StatusOr<RunOptions> o = ParseRunArgs(args);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->attempt_dir, "/v/a1");
  EXPECT_EQ(o->module_dir, "/src");
  EXPECT_EQ(o->parallel, 4);
  EXPECT_EQ(o->p, 2);
  EXPECT_EQ(o->gomemlimit_bytes, 512u << 20);
  EXPECT_EQ(o->heap_interval, milliseconds(500));
  EXPECT_EQ(o->timeout, "20m");
  EXPECT_EQ(o->tags, "integration,slow");
  EXPECT_THAT(o->flags, ElementsAre("-race", "-count=1", "-run", "TestX"));
  EXPECT_THAT(o->packages, ElementsAre("./...", "./cmd/..."));
}

TEST(ParseRunArgsTest, Defaults) {
  StatusOr<RunOptions> o = ParseRunArgs(Args{"--dir", "/a", "--module-dir", "/m", "./..."});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->parallel, std::nullopt);
  EXPECT_EQ(o->p, std::nullopt);
  EXPECT_EQ(o->gomemlimit_bytes, std::nullopt);
  EXPECT_EQ(o->heap_interval, milliseconds(2000));
  EXPECT_EQ(o->memory_stall_after, milliseconds(10000));
  EXPECT_THAT(o->timeout, IsEmpty());
  EXPECT_THAT(o->flags, IsEmpty());
}

TEST(ParseRunArgsTest, MemoryStallAfter) {
  StatusOr<RunOptions> o =
      ParseRunArgs(Args{"--dir", "/a", "--module-dir", "/m", "--memory-stall-after", "15s", "./..."});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->memory_stall_after, milliseconds(15000));
  o = ParseRunArgs(Args{"--dir", "/a", "--module-dir", "/m", "--memory-stall-after=0s", "./..."});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->memory_stall_after, milliseconds(0));
}

TEST(ParseRunArgsTest, Errors) {
  const std::vector<std::pair<Args, std::string>> cases{
      {{"--module-dir", "/m", "./..."}, "--dir is required"},
      {{"--dir", "/a", "./..."}, "--module-dir is required"},
      {{"--dir", "/a", "--module-dir", "/m"}, "at least one package"},
      {{"--dir", "/a", "--module-dir", "/m", "--parallel", "0", "./..."}, "--parallel"},
      {{"--dir", "/a", "--module-dir", "/m", "--p", "two", "./..."}, "--p"},
      {{"--dir", "/a", "--module-dir", "/m", "--gomemlimit", "lots", "./..."}, "--gomemlimit"},
      {{"--dir", "/a", "--module-dir", "/m", "--heap-interval", "1ms", "./..."}, "below 10ms"},
      {{"--dir", "/a", "--module-dir", "/m", "--timeout", "ten", "./..."}, "--timeout"},
      {{"--dir", "/a", "--module-dir", "/m", "--memory-stall-after", "500ms", "./..."}, "below 1s"},
      {{"--dir", "/a", "--module-dir", "/m", "--memory-stall-after", "soon", "./..."}, "--memory-stall-after"},
      {{"--dir", "/a", "--module-dir", "/m", "--bogus", "1", "./..."}, "unknown option --bogus"},
      {{"--dir", "/a", "--module-dir", "/m", "-race", "./..."}, "unknown option -race"},
      {{"--dir", "/a", "--module-dir", "/m", "./...", "--flag"}, "needs a value"},
  };
  for (const auto& [args, message] : cases) {
    StatusOr<RunOptions> o = ParseRunArgs(args);
    ASSERT_FALSE(o.ok()) << message;
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(o.status().message(), HasSubstr(message));
  }
}

TEST(ParseExecArgsTest, TheBinarysFlagsAreNotOurs) {
  StatusOr<ExecOptions> o =
      ParseExecArgs(Args{"--dir", "/a", "/tmp/b001/p.test", "-test.paniconexit0", "--dir", "-test.timeout=10m0s"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->attempt_dir, "/a");
  EXPECT_THAT(o->argv, ElementsAre("/tmp/b001/p.test", "-test.paniconexit0", "--dir", "-test.timeout=10m0s"));
  EXPECT_FALSE(ParseExecArgs(Args{"--dir", "/a"}).ok());
  EXPECT_FALSE(ParseExecArgs(Args{"/tmp/p.test"}).ok());
}

TEST(ParseListArgsTest, Forms) {
  StatusOr<ListOptions> o =
      ParseListArgs(Args{"--module-dir", "/m", "--tags=a,b", "--out", "/o.json", "./x/...", "./y"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->module_dir, "/m");
  EXPECT_EQ(o->tags, "a,b");
  EXPECT_EQ(o->out, "/o.json");
  EXPECT_THAT(o->patterns, ElementsAre("./x/...", "./y"));
  o = ParseListArgs(Args{"--module-dir", "/m"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_THAT(o->patterns, IsEmpty());
  EXPECT_FALSE(ParseListArgs(Args{"./..."}).ok());
}

TEST(ParseInstallArgsTest, OneDestination) {
  StatusOr<InstallOptions> o = ParseInstallArgs(Args{"/shared/bin/gotestrun-agent"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->dest, "/shared/bin/gotestrun-agent");
  EXPECT_FALSE(ParseInstallArgs(Args{}).ok());
  EXPECT_FALSE(ParseInstallArgs(Args{"a", "b"}).ok());
}

TEST(ParseGoDurationTest, GoForms) {
  const std::vector<std::pair<std::string, nanoseconds>> cases{
      {"0", nanoseconds(0)},
      {"300ms", milliseconds(300)},
      {"1.5s", milliseconds(1500)},
      {"2h45m", std::chrono::minutes(165)},
      {"1m30s", std::chrono::seconds(90)},
      {"10us", std::chrono::microseconds(10)},
      {"10\xC2\xB5s", std::chrono::microseconds(10)},
      {"7ns", nanoseconds(7)},
      {"+5s", std::chrono::seconds(5)},
  };
  for (const auto& [text, want] : cases) {
    StatusOr<nanoseconds> d = ParseGoDuration(text);
    ASSERT_TRUE(d.ok()) << text << ": " << d.status();
    EXPECT_EQ(*d, want) << text;
  }
  for (const std::string bad : {"", "5", "s", "-1s", "1x", "1.2.3s", "ms5", "9999999999h"}) {
    EXPECT_FALSE(ParseGoDuration(bad).ok()) << bad;
  }
}

TEST(ParseByteSizeTest, Units) {
  EXPECT_EQ(*ParseByteSize("1048576"), 1048576u);
  EXPECT_EQ(*ParseByteSize("100B"), 100u);
  EXPECT_EQ(*ParseByteSize("4KiB"), 4096u);
  EXPECT_EQ(*ParseByteSize("512MiB"), 512u << 20);
  EXPECT_EQ(*ParseByteSize("2GiB"), 2ull << 30);
  EXPECT_EQ(*ParseByteSize("1TiB"), 1ull << 40);
  EXPECT_EQ(*ParseByteSize("640Mi"), 640u << 20);
  EXPECT_EQ(*ParseByteSize("4Gi"), 4ull << 30);
  for (const std::string bad : {"", "MiB", "12MB", "1.5GiB", "-1", "99999999999999999999", "16777216TiB"}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace gotestrun::agent
