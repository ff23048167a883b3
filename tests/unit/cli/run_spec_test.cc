#include "cli/run_spec.h"

#include <gmock/gmock.h>
#include <streambuf>
#include <thread>
#include <sstream>
#include <gtest/gtest.h>

#include "core/engine/describe.h"

namespace gotestrun::cli {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// 2026-03-01T14:25:02Z
const std::chrono::system_clock::time_point kNow = std::chrono::system_clock::from_time_t(1772375102);

// An stdin that never ends, counting what was taken from it.
class EndlessInput : public std::streambuf {
 public:
  size_t served = 0;

 protected:
  int_type underflow() override {
    std::fill(std::begin(buf_), std::end(buf_), 'a');
    setg(buf_, buf_, buf_ + sizeof buf_);
    served += sizeof buf_;
    return traits_type::to_int_type(buf_[0]);
  }

 private:
  char buf_[8192];
};

TEST(ReadManifest, StdinStopsPastTheCap) {
  EndlessInput endless;
  std::istream in(&endless);
  StatusOr<std::string> text = ReadManifest("-", in);
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("the manifest on stdin is larger than 4 MiB"));
  EXPECT_LE(endless.served, kMaxManifestBytes + (size_t{128} << 10));
}

TEST(ReadManifest, StdinUpToTheCapIsRead) {
  std::istringstream in("kind: GoTestRun\n");
  StatusOr<std::string> text = ReadManifest("-", in);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "kind: GoTestRun\n");
  std::istringstream exact(std::string(kMaxManifestBytes, '#'));
  EXPECT_TRUE(ReadManifest("-", exact).ok());
}

StatusOr<LocalRun> Resolve(const RunFlags& flags, const std::optional<json>& manifest = std::nullopt) {
  return ResolveRun(flags, manifest, "/work", kNow);
}

TEST(ResolveRun, FlagsBuildAGoTestRunWithTheDefaults) {
  RunFlags f;
  f.module_dir = "src/payments/";
  StatusOr<LocalRun> run = Resolve(f);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->module_dir, "/work/src/payments");
  EXPECT_EQ(run->name, "payments-20260301-142502");
  EXPECT_EQ(run->run_dir, "/work/src/payments/.gotestrun/runs/payments-20260301-142502");
  EXPECT_EQ(run->spec.policy.memory, 512ull << 20);
  EXPECT_EQ(run->spec.policy.max_memory, 2ull << 30);
  EXPECT_THAT(run->spec.packages, ElementsAre("./..."));
  EXPECT_EQ(run->object["apiVersion"], "gotestrun.dev/v1alpha1");
  EXPECT_EQ(run->object["kind"], "GoTestRun");
  EXPECT_EQ(run->object["metadata"]["name"], run->name);
  EXPECT_EQ(run->object["metadata"]["annotations"][engine::kModuleDirAnnotation], "/work/src/payments");
  EXPECT_EQ(run->object["spec"]["resources"]["memory"], "512Mi");
  EXPECT_EQ(run->object["spec"]["source"]["volume"]["claimName"], kLocalPlaceholder);
  EXPECT_THAT(run->notes, IsEmpty());
}

TEST(ResolveRun, FlagsReachTheSpec) {
  RunFlags f;
  f.packages = {"./leak", "./clean/..."};
  f.memory = "256Mi";
  f.max_memory = "1Gi";
  f.shards = "2";
  f.max_shards = "4";
  f.parallel = "3";
  f.p = "1";
  f.max_attempts = "5";
  f.name = "demo";
  f.out = "runs/demo";
  StatusOr<LocalRun> run = Resolve(f);
  ASSERT_TRUE(run.ok()) << run.status();
  const policy::RunPolicy& p = run->spec.policy;
  EXPECT_EQ(p.memory, 256ull << 20);
  EXPECT_EQ(p.max_memory, 1ull << 30);
  EXPECT_EQ(p.shards, 2);
  EXPECT_EQ(p.max_shards, 4);
  EXPECT_EQ(p.parallel, 3);
  EXPECT_EQ(p.p, 1);
  EXPECT_EQ(p.max_attempts, 5);
  EXPECT_THAT(run->spec.packages, ElementsAre("./leak", "./clean/..."));
  EXPECT_EQ(run->name, "demo");
  EXPECT_EQ(run->run_dir, "/work/runs/demo");
  EXPECT_EQ(run->object["spec"]["sharding"]["shards"], 2);
  EXPECT_EQ(run->object["spec"]["goTest"]["parallel"], 3);
}

// The go commands inherit the shell's GOFLAGS; the spec carries it so that the engine
// reads what go will (a -run there makes the test counts unknown), unless the
// manifest sets its own, which the go commands get instead.
TEST(ResolveRun, TheShellsGoflagsReachTheSpecUnlessItSetsItsOwn) {
  RunFlags f;
  f.shell_goflags = "-run=TestOrders";
  StatusOr<LocalRun> run = Resolve(f);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->spec.env.size(), 1u);
  EXPECT_EQ(run->spec.env[0].name, "GOFLAGS");
  EXPECT_EQ(run->spec.env[0].value, "-run=TestOrders");
  EXPECT_THAT(run->env, ElementsAre("GOFLAGS=-run=TestOrders"));
  EXPECT_THAT(run->notes, ElementsAre(HasSubstr("GOFLAGS=-run=TestOrders from this shell")));
  EXPECT_FALSE(run->object["spec"].contains("goTest")) << "run.yaml stays the manifest as given";

  json manifest = {{"apiVersion", "gotestrun.dev/v1alpha1"},
                   {"kind", "GoTestRun"},
                   {"metadata", {{"name", "own"}}},
                   {"spec",
                    {{"source", {{"volume", {{"claimName", "w"}}}}},
                     {"image", "golang:1.26"},
                     {"resources", {{"memory", "256Mi"}, {"maxMemory", "1Gi"}}},
                     {"goTest", {{"env", {{{"name", "GOFLAGS"}, {"value", "-mod=mod"}}}}}}}}};
  StatusOr<LocalRun> own = Resolve(f, manifest);
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_EQ(own->spec.env.size(), 1u);
  EXPECT_EQ(own->spec.env[0].value, "-mod=mod");
  EXPECT_THAT(own->env, ElementsAre("GOFLAGS=-mod=mod"));

  f.shell_goflags = "";
  StatusOr<LocalRun> empty = Resolve(f);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_THAT(empty->spec.env, IsEmpty());
}

TEST(ResolveRun, ABadValueGetsTheCrdsMessageAndTheFlag) {
  RunFlags f;
  f.memory = "5Gb";
  EXPECT_EQ(Resolve(f).status().message(),
            "--memory 5Gb: spec.resources.memory: '5Gb' is not a quantity such as 512Mi or 2Gi");
  f = {};
  f.shards = "0";
  EXPECT_EQ(Resolve(f).status().message(), "--shards 0: spec.sharding.shards: must be between 1 and 256");
  f = {};
  f.parallel = "many";
  EXPECT_EQ(Resolve(f).status().message(), "--parallel many: spec.goTest.parallel: must be an integer");
  f = {};
  f.shards = "4";
  f.max_shards = "2";
  EXPECT_EQ(Resolve(f).status().message(), "--max-shards 2: spec.sharding.maxShards: must be at least sharding.shards");
  f = {};
  f.memory = "1Gi";
  f.max_memory = "512Mi";
  EXPECT_EQ(Resolve(f).status().message(),
            "--memory 1Gi: spec.resources.memory: must not be more than resources.maxMemory");
  f = {};
  f.max_attempts = "21";
  EXPECT_THAT(Resolve(f).status().message(), HasSubstr("--max-attempts 21: spec.retry.maxAttempts"));
  EXPECT_EQ(Resolve(f).status().code(), StatusCode::kInvalidArgument);
}

TEST(ResolveRun, OneBoundAloneMovesTheOtherDefault) {
  RunFlags f;
  f.max_memory = "200Mi";
  StatusOr<LocalRun> run = Resolve(f);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->spec.policy.memory, 200ull << 20);
  f = {};
  f.memory = "4Gi";
  run = Resolve(f);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->spec.policy.max_memory, 4ull << 30);
}

TEST(ResolveRun, Names) {
  RunFlags f;
  f.name = "Bad_Name";
  EXPECT_THAT(Resolve(f).status().message(), HasSubstr("--name: metadata.name 'Bad_Name'"));
  f.name = std::string(53, 'a');
  EXPECT_THAT(Resolve(f).status().message(), HasSubstr("at most 52 characters"));
  f.name = "-a";
  EXPECT_FALSE(Resolve(f).ok());
  EXPECT_TRUE(ValidateRunName("leak-demo.2").ok());
  EXPECT_EQ(DefaultRunName("/src/My_Module..x/", kNow), "my-module-x-20260301-142502");
  EXPECT_EQ(DefaultRunName("/", kNow), "run-20260301-142502");
  EXPECT_LE(DefaultRunName("/" + std::string(100, 'x'), kNow).size(), 52u);
}

TEST(ResolveRun, APackageThatIsAFlagIsRefused) {
  RunFlags f;
  f.packages = {"-race"};
  EXPECT_THAT(Resolve(f).status().message(), HasSubstr("is a flag, not a package pattern"));
}

const char kManifest[] = R"(
apiVersion: gotestrun.dev/v1alpha1
kind: GoTestRun
metadata:
  name: leak-demo
  namespace: ci
spec:
  source:
    volume: {claimName: workspace, subPath: memory}
    moduleDir: sub
  image: golang:1.26
  packages: ["./leak"]
  goTest:
    parallel: 2
    env: [{name: GOFLAGS, value: -mod=mod}]
  resources: {memory: 256Mi, maxMemory: 1Gi, cpu: "1500m"}
)";

TEST(ResolveRun, AManifestRunsOnTheLocalModuleAndSaysSo) {
  StatusOr<json> manifest = DecodeManifest(kManifest);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  RunFlags f;
  f.module_dir = "/src/checkout";
  StatusOr<LocalRun> run = Resolve(f, *manifest);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->name, "leak-demo");
  // source.moduleDir is inside the checkout that --module-dir stands in for.
  EXPECT_EQ(run->module_dir, "/src/checkout/sub");
  EXPECT_EQ(run->run_dir, "/src/checkout/sub/.gotestrun/runs/leak-demo");
  EXPECT_EQ(run->spec.policy.parallel, 2);
  EXPECT_FALSE(run->object["metadata"].contains("namespace"));
  EXPECT_EQ(run->object["spec"]["source"]["volume"]["claimName"], "workspace");  // kept as written
  ASSERT_EQ(run->notes.size(), 2u);
  EXPECT_THAT(run->notes[0], HasSubstr("volume workspace/memory"));
  EXPECT_THAT(run->notes[0], HasSubstr("golang:1.26"));
  const std::string procs =
      "GOMAXPROCS=" + std::to_string(std::min(2u, std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_THAT(run->notes[1], HasSubstr(procs));
  EXPECT_THAT(run->env, ElementsAre("GOFLAGS=-mod=mod", procs));
}

// resources.cpu is not enforced locally: GOMAXPROCS never goes past this machine's
// cores (cpu "1024" once meant GOMAXPROCS=1024, and go list crawled).
TEST(ResolveRun, GomaxprocsStaysWithinThisMachine) {
  std::string text = kManifest;
  text.replace(text.find("\"1500m\""), 7, "\"1024\"");
  StatusOr<json> manifest = DecodeManifest(text);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  RunFlags f;
  f.module_dir = "/src/checkout";
  StatusOr<LocalRun> run = Resolve(f, *manifest);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(run->env,
              ::testing::Contains("GOMAXPROCS=" + std::to_string(std::max(1u, std::thread::hardware_concurrency()))));
}

TEST(ResolveRun, WhatAnApiServerWroteIsNotKept) {
  StatusOr<json> manifest = DecodeManifest(std::string(kManifest) + R"(status: {phase: Succeeded}
)");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  (*manifest)["metadata"]["uid"] = "1234";
  (*manifest)["metadata"]["resourceVersion"] = "7";
  (*manifest)["metadata"]["finalizers"] = {"gotestrun.dev/evidence"};
  (*manifest)["metadata"]["labels"] = {{"team", "payments"}};
  StatusOr<LocalRun> run = Resolve({}, *manifest);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_FALSE(run->object.contains("status"));
  EXPECT_FALSE(run->object["metadata"].contains("uid"));
  EXPECT_FALSE(run->object["metadata"].contains("resourceVersion"));
  EXPECT_FALSE(run->object["metadata"].contains("finalizers"));
  EXPECT_EQ(run->object["metadata"]["labels"]["team"], "payments");
}

TEST(ResolveRun, FlagsOverrideTheManifest) {
  StatusOr<json> manifest = DecodeManifest(kManifest);
  ASSERT_TRUE(manifest.ok());
  RunFlags f;
  f.memory = "300Mi";
  f.packages = {"./clean/..."};
  f.name = "other";
  StatusOr<LocalRun> run = Resolve(f, *manifest);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->spec.policy.memory, 300ull << 20);
  EXPECT_EQ(run->spec.policy.max_memory, 1ull << 30);
  EXPECT_THAT(run->spec.packages, ElementsAre("./clean/..."));
  EXPECT_EQ(run->name, "other");
}

TEST(ResolveRun, AManifestTheCrdWouldRefuseIsRefusedTheSameWay) {
  StatusOr<json> manifest = DecodeManifest(R"(
apiVersion: gotestrun.dev/v1alpha1
kind: GoTestRun
metadata: {name: x}
spec:
  source: {git: {url: https://example.com/x.git}}
  image: golang:1.26
  goTest: {flags: ["-parallel=4"]}
  resources: {memory: 1Gi, maxMemory: 2Gi}
)");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  StatusOr<LocalRun> run = Resolve({}, *manifest);
  EXPECT_THAT(run.status().message(), HasSubstr("spec.goTest.flags: '-parallel=4': -parallel is set by the operator"));
}

TEST(DecodeManifest, RefusesWhatIsNotOneGoTestRun) {
  EXPECT_THAT(DecodeManifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nspec: {}\n").status().message(),
              HasSubstr("is a ConfigMap of v1, not a GoTestRun"));
  EXPECT_THAT(DecodeManifest("a: 1\n---\nb: 2\n").status().message(), HasSubstr("2 documents"));
  EXPECT_THAT(DecodeManifest("apiVersion: gotestrun.dev/v1alpha1\nkind: GoTestRun\n").status().message(),
              HasSubstr("no spec"));
  EXPECT_FALSE(DecodeManifest("key: [unclosed\n").ok());
  EXPECT_FALSE(DecodeManifest("- a list\n").ok());
}

}  // namespace
}  // namespace gotestrun::cli
