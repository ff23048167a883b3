#include "core/api/gotestrun.h"

#include <gtest/gtest.h>

namespace gotestrun::api {
namespace {

Json Minimal() {
  return Json::parse(R"({
    "source": {"volume": {"claimName": "workspace"}},
    "image": "golang:1.26",
    "resources": {"memory": "256Mi", "maxMemory": "1Gi"}
  })");
}

TEST(GoTestRunSpec, MinimalSpecGetsTheDefaults) {
  auto s = ParseSpec(Minimal());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->volume_claim, "workspace");
  EXPECT_EQ(s->module_dir, ".");
  EXPECT_EQ(s->packages, std::vector<std::string>{"./..."});
  EXPECT_EQ(s->policy.memory, 256ull << 20);
  EXPECT_EQ(s->policy.max_memory, 1ull << 30);
  EXPECT_EQ(s->policy.shards, 1);
  EXPECT_EQ(s->policy.max_shards, 32);
  EXPECT_EQ(s->policy.max_attempts, 4);
  EXPECT_DOUBLE_EQ(s->policy.memory_bump_ratio, 1.5);
  EXPECT_EQ(s->policy.min_memory_bump, 128ull << 20);
  EXPECT_EQ(s->heap_interval, std::chrono::milliseconds(2000));
  EXPECT_EQ(s->profiles_claim, "gotestrun-profiles");
  EXPECT_FALSE(s->policy.parallel.has_value());
}

TEST(GoTestRunSpec, FullSpec) {
  Json j = Minimal();
  j["goTest"] = Json::parse(R"({"flags": ["-race", "-count=1"], "tags": ["integration"], "parallel": 8, "p": 2,
                                "timeout": "20m", "env": [{"name": "CGO_ENABLED", "value": "1"}]})");
  j["resources"]["cpu"] = "1500m";
  j["sharding"] = {{"shards", 3}, {"maxShards", 8}};
  j["retry"] = {{"maxAttempts", 6}, {"memoryBumpRatio", "2"}, {"minMemoryBump", "64Mi"}};
  j["profiling"] = {{"heapInterval", "500ms"}, {"claimName", "evidence"}};
  auto s = ParseSpec(j);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->policy.parallel, 8);
  EXPECT_EQ(s->policy.p, 2);
  EXPECT_EQ(s->policy.cpu_millis, 1500u);
  EXPECT_EQ(s->policy.shards, 3);
  EXPECT_EQ(s->policy.max_shards, 8);
  EXPECT_EQ(s->policy.max_attempts, 6);
  EXPECT_DOUBLE_EQ(s->policy.memory_bump_ratio, 2.0);
  EXPECT_EQ(s->heap_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(s->env.size(), 1u);
}

TEST(GoTestRunSpec, MemoryStall) {
  auto defaults = ParseSpec(Minimal());
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_TRUE(defaults->memory_stall_enabled);
  EXPECT_EQ(defaults->memory_stall_after, std::chrono::seconds(10));
  Json j = Minimal();
  j["memoryStall"] = {{"after", "1m30s"}, {"enabled", false}};
  auto s = ParseSpec(j);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->memory_stall_enabled);
  EXPECT_EQ(s->memory_stall_after, std::chrono::seconds(90));
}

struct BadSpec {
  const char* name;
  const char* patch;  // merged into the minimal spec (RFC 7386)
  const char* message_part;
};

class BadSpecTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(BadSpecTest, IsRefusedNamingTheField) {
  Json j = Minimal();
  j.merge_patch(Json::parse(GetParam().patch));
  auto s = ParseSpec(j);
  ASSERT_FALSE(s.ok()) << GetParam().patch;
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find(GetParam().message_part), std::string::npos) << s.status();
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadSpecTest,
    ::testing::Values(
        BadSpec{"NoSource", R"({"source": null})", "spec.source"},
        BadSpec{"BothSources", R"({"source": {"git": {"url": "https://x/y.git"}}})", "exactly one"},
        BadSpec{"NoImage", R"({"image": null})", "spec.image: required"},
        BadSpec{"MemoryAboveMax", R"({"resources": {"memory": "2Gi"}})", "spec.resources.memory: must not be more"},
        BadSpec{"BadQuantity", R"({"resources": {"memory": "12 GB"}})", "'12 GB' is not a quantity"},
        BadSpec{"ZeroShards", R"({"sharding": {"shards": 0}})", "spec.sharding.shards"},
        BadSpec{"MaxShardsBelowShards", R"({"sharding": {"shards": 4, "maxShards": 2}})", "spec.sharding.maxShards"},
        BadSpec{"RatioBelowOne", R"({"retry": {"memoryBumpRatio": "0.9"}})", "spec.retry.memoryBumpRatio"},
        BadSpec{"RatioNotANumber", R"({"retry": {"memoryBumpRatio": "abc"}})", "spec.retry.memoryBumpRatio"},
        BadSpec{"ParallelFlag", R"({"goTest": {"flags": ["-parallel=4"]}})", "-parallel is set by the operator"},
        BadSpec{"ExecFlag", R"({"goTest": {"flags": ["--exec=foo"]}})", "-exec is set by the operator"},
        BadSpec{"JsonFlag", R"({"goTest": {"flags": ["-json"]}})", "-json is set by the operator"},
        BadSpec{"OwnedEnv", R"({"goTest": {"env": [{"name": "GOMEMLIMIT", "value": "1GiB"}]}})",
                "GOMEMLIMIT is set by the operator"},
        BadSpec{"BadTimeout", R"({"goTest": {"timeout": "20 minutes"}})", "spec.goTest.timeout"},
        BadSpec{"ParallelTooHigh", R"({"goTest": {"parallel": 5000}})", "spec.goTest.parallel"},
        BadSpec{"ModuleDirEscapes", R"({"source": {"moduleDir": "../other"}})", "spec.source.moduleDir"},
        BadSpec{"HeapIntervalTooShort", R"({"profiling": {"heapInterval": "1ms"}})", "spec.profiling.heapInterval"},
        BadSpec{"MemoryStallTooShort", R"({"memoryStall": {"after": "1s"}})",
                "spec.memoryStall.after: '1s' must be a duration from 2s to 10m"},
        BadSpec{"MemoryStallTooLong", R"({"memoryStall": {"after": "11m"}})", "spec.memoryStall.after"},
        BadSpec{"MemoryStallNotADuration", R"({"memoryStall": {"after": "ten seconds"}})", "spec.memoryStall.after"},
        BadSpec{"MemoryStallAfterNumber", R"({"memoryStall": {"after": 10}})",
                "spec.memoryStall.after: must be a string"},
        BadSpec{"PackagesNotStrings", R"({"packages": [1, 2]})", "spec.packages[0]"},
        BadSpec{"WrongTypes", R"({"goTest": {"parallel": "many"}})", "spec.goTest.parallel: must be an integer"},
        // What the CRD's schema refuses, refused here too (issue 13, row 3).
        BadSpec{"UnknownField", R"({"goTest": {"parallell": 4}})", "unknown field spec.goTest.parallell"},
        BadSpec{"UnknownTopLevelField", R"({"imagePullPolicy": "Always"})", "unknown field spec.imagePullPolicy"},
        BadSpec{"ImageWithSemicolon", R"({"image": "golang:1.26;rm -rf /"})", "spec.image"},
        BadSpec{"ImageWithSpace", R"({"image": "golang 1.26"})", "spec.image"},
        BadSpec{"ClaimNameNotDns1123", R"({"source": {"volume": {"claimName": "Work_Space"}}})",
                "spec.source.volume.claimName"},
        BadSpec{"ProfilesClaimNotDns1123", R"({"profiling": {"claimName": "../evidence"}})",
                "spec.profiling.claimName"},
        BadSpec{"EnabledNotABoolean", R"({"profiling": {"enabled": "yes"}})",
                "spec.profiling.enabled: must be a boolean"},
        BadSpec{"EnvNameWithDash", R"({"goTest": {"env": [{"name": "MY-VAR", "value": "1"}]}})",
                "spec.goTest.env[0].name"},
        BadSpec{"TagWithSpace", R"({"goTest": {"tags": ["a b"]}})", "spec.goTest.tags[0]"},
        BadSpec{"RatioAsANumber", R"({"retry": {"memoryBumpRatio": 2}})",
                "spec.retry.memoryBumpRatio: must be a string"},
        BadSpec{"SubPathEscapes", R"({"source": {"volume": {"claimName": "w", "subPath": "a/../../etc"}}})",
                "spec.source.volume.subPath"},
        // A URL or revision that git would read as an option (row 15).
        BadSpec{"GitUrlIsAnOption", R"({"source": {"volume": null, "git": {"url": "-oProxyCommand=touch@x:y"}}})",
                "spec.source.git.url: must not start with '-', which git would read as an option"},
        BadSpec{"GitUrlIsAnOptionWithSpaces",
                R"({"source": {"volume": null, "git": {"url": "--upload-pack=touch /tmp/pwned"}}})",
                "spec.source.git.url: must not start with '-'"},
        BadSpec{"GitRevisionIsAnOption",
                R"({"source": {"volume": null, "git": {"url": "https://x/y.git", "revision": "--output=/etc/x"}}})",
                "spec.source.git.revision: must not start with '-', which git would read as an option"},
        BadSpec{"PackageIsAFlag", R"({"packages": ["-exec=x"]})", "spec.packages[0]: \"-exec=x\" is a flag"},
        // Owned flags by the back door (row 5).
        BadSpec{"ExecFlagWithItsValueInOneArgument", R"({"goTest": {"flags": ["-exec /bin/true"]}})",
                "-exec is set by the operator"},
        BadSpec{"ToolexecInGoflags",
                R"({"goTest": {"env": [{"name": "GOFLAGS", "value": "-mod=mod -toolexec=/bin/x"}]}})",
                "spec.goTest.env[0].value: GOFLAGS holds '-toolexec=/bin/x'"},
        BadSpec{"ParallelInGoflags", R"({"goTest": {"env": [{"name": "GOFLAGS", "value": "-test.parallel=64"}]}})",
                "-parallel is set by the operator"},
        BadSpec{"Goenv", R"({"goTest": {"env": [{"name": "GOENV", "value": "/tmp/go.env"}]}})", "GOENV is not allowed"},
        // CPU past any node (row 6): GOMAXPROCS=100000 made go itself crawl.
        BadSpec{"CpuTooLarge", R"({"resources": {"cpu": "100000"}})",
                "spec.resources.cpu: '100000' is more than 1024 cores"},
        BadSpec{"CpuZero", R"({"resources": {"cpu": "0"}})", "spec.resources.cpu"},
        BadSpec{"ZeroMemory", R"({"resources": {"memory": 0}})", "spec.resources.memory: must be more than zero"},
        BadSpec{"ShardsAboveTheDefaultMaxShards", R"({"sharding": {"shards": 40}})",
                "spec.sharding.maxShards: must be at least sharding.shards (maxShards is 32 unless set)"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(GoTestRunSpec, LongStringsAreRefusedByTheirLength) {
  Json j = Minimal();
  j["image"] = std::string(1 << 20, 'a');
  auto s = ParseSpec(j);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("spec.image: must be at most 512 characters"), std::string::npos) << s.status();
}

TEST(GoTestRunSpec, GoflagsWithoutOwnedFlagsAndReferencesWithRegistryAndDigest) {
  Json j = Minimal();
  j["image"] = "registry.example:5000/team/go@sha256:0123abcd";
  j["goTest"] = Json::parse(R"({"env": [{"name": "GOFLAGS", "value": "-mod=mod  -count=1"}]})");
  j["resources"]["cpu"] = "1024";
  auto s = ParseSpec(j);
  EXPECT_TRUE(s.ok()) << s.status();
}

TEST(GoTestRunSpec, TheSchemaIsTheBuiltInCrd) {
  const Json& schema = SpecSchema();
  ASSERT_TRUE(schema.is_object());
  EXPECT_TRUE(schema["properties"].contains("goTest"));
  EXPECT_EQ(schema["properties"]["image"]["maxLength"], 512);
}

TEST(GoDuration, ParsesGoForms) {
  EXPECT_EQ(*ParseGoDuration("20m"), std::chrono::minutes(20));
  EXPECT_EQ(*ParseGoDuration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(*ParseGoDuration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*ParseGoDuration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_FALSE(ParseGoDuration("").ok());
  EXPECT_FALSE(ParseGoDuration("10").ok());
  EXPECT_FALSE(ParseGoDuration("5 days").ok());
}

TEST(OwnedFlags, AllForms) {
  EXPECT_EQ(OwnedFlag("-p"), "-p");
  EXPECT_EQ(OwnedFlag("--p=3"), "-p");
  EXPECT_EQ(OwnedFlag("-toolexec=x"), "-toolexec");
  EXPECT_EQ(OwnedFlag("-test.parallel=8"), "-parallel");
  EXPECT_EQ(OwnedFlag("-timeout=1m"), "-timeout");
  EXPECT_EQ(OwnedFlag("-race"), std::nullopt);
  EXPECT_EQ(OwnedFlag("-parallelism"), std::nullopt);
  EXPECT_EQ(OwnedFlag("-run=TestX"), std::nullopt);
  EXPECT_EQ(OwnedFlag("-exec /bin/true"), "-exec");
  EXPECT_EQ(OwnedFlag("--toolexec\t/bin/x"), "-toolexec");
  EXPECT_EQ(OwnedFlag("-run TestX"), std::nullopt);
}

TEST(FlagInlineValue, WhatFollowsTheNameInOneArgument) {
  EXPECT_EQ(FlagInlineValue("-count=1"), "1");
  EXPECT_EQ(FlagInlineValue("--test.count=3"), "3");
  EXPECT_EQ(FlagInlineValue("-count 1"), "1");
  EXPECT_EQ(FlagInlineValue("-count \t 2"), "2");
  EXPECT_EQ(FlagInlineValue("-run="), "");
  EXPECT_EQ(FlagInlineValue("-count"), std::nullopt) << "the value, if any, is the next argument";
  EXPECT_EQ(FlagInlineValue("count=1"), std::nullopt) << "not a flag";
  EXPECT_EQ(FlagInlineValue("-=1"), std::nullopt) << "no name";
}

}  // namespace
}  // namespace gotestrun::api
