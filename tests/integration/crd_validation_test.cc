// The GoTestRun CustomResourceDefinition, installed from crds/ into a real
// kube-apiserver: the server accepts the schema (structural, CEL rules that compile and
// fit the cost budget), fills in the defaults, and refuses wrong manifests with a
// message that names the field to fix and what is wrong with it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/api/gotestrun.h"
#include "core/api/yaml_json.h"
#include "base/files.h"
#include "kube/client/client.h"
#include "tests/support/cluster_fixture.h"
#include "tests/support/crds.h"

namespace gotestrun::api {
namespace {

using kube::ResourceType;
using testing::AdminClient;
using testing::ClusterEnvironment;
using testing::Eventually;
using testing::HasCondition;
using testing::TestNamespace;

const bool kInstalled = (ClusterEnvironment::Install(), true);

const std::string kCrdsDir = GTR_CRDS_DIR;
const ResourceType kGoTestRuns{"gotestrun.dev", "v1alpha1", "gotestruns", true};
constexpr char kCrdName[] = "gotestruns.gotestrun.dev";

StatusOr<Json> LoadYaml(const std::string& path) { return testing::LoadYamlFile(path); }

class GoTestRunCrd : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = AdminClient();
    ASSERT_NE(client_, nullptr);
    static const Status installed = testing::InstallGoTestRunCrd(*client_, kCrdsDir);
    ASSERT_TRUE(installed.ok()) << installed;
    ns_ = TestNamespace(*client_);
  }

  static Json Example(const std::string& name) {
    StatusOr<Json> doc = LoadYaml(kCrdsDir + "/examples/" + name);
    EXPECT_TRUE(doc.ok()) << doc.status();
    return doc.ok() ? *doc : Json();
  }

  std::unique_ptr<kube::Client> client_;
  std::string ns_;
};

TEST_F(GoTestRunCrd, IsEstablishedUnderItsNames) {
  StatusOr<Json> crd = client_->Get(ResourceType::CustomResourceDefinitions(), "", kCrdName);
  ASSERT_TRUE(crd.ok()) << crd.status();
  EXPECT_TRUE(HasCondition(*crd, "NamesAccepted", "True")) << (*crd)["status"].dump();
  EXPECT_FALSE(HasCondition(*crd, "NonStructuralSchema", "True")) << (*crd)["status"].dump();
  const Json& names = (*crd)["status"]["acceptedNames"];
  EXPECT_EQ(names["kind"], "GoTestRun");
  EXPECT_EQ(names["listKind"], "GoTestRunList");
  EXPECT_EQ(names["plural"], "gotestruns");
  EXPECT_EQ(names["singular"], "gotestrun");
  EXPECT_EQ(names["shortNames"], Json::array({"gtr"}));
  EXPECT_EQ(names["categories"], Json::array({"gotestrun"}));
  EXPECT_EQ((*crd)["spec"]["scope"], "Namespaced");
}

TEST_F(GoTestRunCrd, EveryExampleIsAccepted) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kCrdsDir + "/examples")) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 2u);
  for (const std::string& file : files) {
    StatusOr<std::string> text = ReadFile(file);
    ASSERT_TRUE(text.ok()) << text.status();
    StatusOr<std::vector<Json>> docs = YamlDocumentsToJson(*text);
    ASSERT_TRUE(docs.ok()) << file << ": " << docs.status();
    for (const Json& doc : *docs) {
      StatusOr<Json> created = client_->Create(kGoTestRuns, ns_, doc);
      EXPECT_TRUE(created.ok()) << file << ": " << created.status();
    }
  }
}

TEST_F(GoTestRunCrd, MinimalExampleGetsTheDefaults) {
  StatusOr<Json> created = client_->Create(kGoTestRuns, ns_, Example("minimal.yaml"));
  ASSERT_TRUE(created.ok()) << created.status();
  const Json expected = Json::parse(R"({
    "source": {"git": {"url": "https://example.com/payments.git", "revision": "HEAD"}, "moduleDir": "."},
    "image": "golang:1.26",
    "packages": ["./..."],
    "goTest": {"timeout": "10m"},
    "resources": {"memory": "512Mi", "maxMemory": "4Gi"},
    "sharding": {"shards": 1, "maxShards": 32},
    "retry": {"maxAttempts": 4, "memoryBumpRatio": "1.5", "minMemoryBump": "128Mi"},
    "profiling": {"enabled": true, "heapInterval": "2s"}
  })");
  EXPECT_EQ((*created)["spec"], expected) << (*created)["spec"].dump(2);

  // What was stored, not only what the create answered.
  StatusOr<Json> got = client_->Get(kGoTestRuns, ns_, "payments-minimal");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["spec"], expected);
}

TEST_F(GoTestRunCrd, FullExampleIsStoredAsWritten) {
  Json full = Example("full.yaml");
  StatusOr<Json> created = client_->Create(kGoTestRuns, ns_, full);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)["spec"], full["spec"]) << (*created)["spec"].dump(2);
}

// Quantities may be written as plain numbers of bytes (or cores), as in Pod specs.
TEST_F(GoTestRunCrd, QuantitiesMayBeIntegers) {
  Json run = Example("minimal.yaml");
  run["spec"]["resources"] = {{"memory", 536870912}, {"maxMemory", "4Gi"}, {"cpu", 2}};
  StatusOr<Json> created = client_->Create(kGoTestRuns, ns_, run);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)["spec"]["resources"], run["spec"]["resources"]);

  run["metadata"]["name"] = "too-much";
  run["spec"]["resources"]["memory"] = 8589934592;
  StatusOr<Json> refused = client_->Create(kGoTestRuns, ns_, run);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("maxMemory (4Gi) must be at least memory (8589934592)"), std::string::npos)
      << refused.status();
}

// Structural schemas drop fields they do not know (kubectl's --validate=strict turns
// that into an error; this client does not ask for it): what is stored is only what the
// schema describes.
TEST_F(GoTestRunCrd, UnknownFieldsAreNotStored) {
  Json run = Example("minimal.yaml");
  run["spec"]["shardz"] = 4;
  run["spec"]["goTest"] = {{"paralel", 2}};
  StatusOr<Json> created = client_->Create(kGoTestRuns, ns_, run);
  ASSERT_TRUE(created.ok()) << created.status();
  StatusOr<Json> got = client_->Get(kGoTestRuns, ns_, "payments-minimal");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE((*got)["spec"].contains("shardz"));
  EXPECT_EQ((*got)["spec"]["goTest"], (Json{{"timeout", "10m"}}));
}

TEST_F(GoTestRunCrd, SourceCannotChangeButTheRestCan) {
  StatusOr<Json> created = client_->Create(kGoTestRuns, ns_, Example("minimal.yaml"));
  ASSERT_TRUE(created.ok()) << created.status();

  Json moved = *created;
  moved["spec"]["source"]["git"]["url"] = "https://example.com/other.git";
  StatusOr<Json> refused = client_->Update(kGoTestRuns, moved);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("spec.source: Invalid value"), std::string::npos) << refused.status();
  EXPECT_NE(refused.status().message().find("source cannot change once the run exists"), std::string::npos)
      << refused.status();

  Json more_attempts = *created;
  more_attempts["spec"]["retry"]["maxAttempts"] = 6;
  StatusOr<Json> updated = client_->Update(kGoTestRuns, more_attempts);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ((*updated)["spec"]["retry"]["maxAttempts"], 6);
}

TEST_F(GoTestRunCrd, StatusTakesWhatTheOperatorWrites) {
  StatusOr<Json> created = client_->Create(kGoTestRuns, ns_, Example("minimal.yaml"));
  ASSERT_TRUE(created.ok()) << created.status();
  const Json status = Json::parse(R"json({
    "phase": "Running",
    "observedGeneration": 1,
    "conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Retrying",
                    "message": "shard 0 was OOM-killed; retrying with 640Mi",
                    "lastTransitionTime": "2026-01-02T03:04:05Z", "observedGeneration": 1}],
    "startTime": "2026-01-02T03:00:00Z",
    "shardCount": 2, "attemptCount": 3, "oomKills": 1,
    "packages": [{"package": "corp.example/payments/internal/ledger", "outcome": "OOMKilled",
                  "shard": 0, "attempts": 1, "peakBytes": 536870912, "buildPeakBytes": 201326592}],
    "shards": [{"index": 0, "packages": ["corp.example/payments/internal/ledger"],
                "attempts": [{"attempt": 1, "pod": "payments-minimal-s0-a1", "memory": "512Mi",
                              "parallel": 16, "p": 4, "gomemlimit": "460MiB", "outcome": "OOMKilled",
                              "phase": "test-run", "peakBytes": 536870912,
                              "killedPackage": "corp.example/payments/internal/ledger",
                              "runningTest": "TestSettle", "startTime": "2026-01-02T03:00:00Z",
                              "finishTime": "2026-01-02T03:01:00Z", "message": "OOMKilled, exit code 137"}]}],
    "diagnosis": [{"package": "corp.example/payments/internal/ledger", "phase": "test-run",
                   "cause": "LeakAcrossTests", "summary": "the heap grows ~60 MiB per test",
                   "evidence": ["heap grew ~60 MiB per test over 6 tests", "top inuse: ledger.Settle (ledger.go:14)"],
                   "action": "isolated; retrying with 640Mi"}],
    "message": "retrying shard 0"
  })json");
  Json with_status = *created;
  with_status["status"] = status;
  StatusOr<Json> written = client_->UpdateStatus(kGoTestRuns, with_status);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ((*written)["status"], status) << (*written)["status"].dump(2);

  Json wrong = *written;
  wrong["status"]["phase"] = "Exploded";
  wrong["status"]["diagnosis"][0]["cause"] = "Gremlins";
  StatusOr<Json> refused = client_->UpdateStatus(kGoTestRuns, wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("status.phase: Unsupported value: \"Exploded\""), std::string::npos)
      << refused.status();
  EXPECT_NE(refused.status().message().find("status.diagnosis[0].cause: Unsupported value: \"Gremlins\""),
            std::string::npos)
      << refused.status();
}

// A wrong manifest, and what the refusal must say: the field's path and the problem.
struct Malformed {
  const char* name;
  std::function<void(Json& run)> spoil;
  std::vector<std::string> says;
};

void PrintTo(const Malformed& m, std::ostream* os) { *os << m.name; }

class RefusedManifest : public GoTestRunCrd, public ::testing::WithParamInterface<Malformed> {};

TEST_P(RefusedManifest, WithAMessageNamingTheField) {
  Json run = Example("minimal.yaml");
  run["metadata"]["name"] = "bad";
  GetParam().spoil(run);
  StatusOr<Json> created = client_->Create(kGoTestRuns, ns_, run);
  ASSERT_FALSE(created.ok()) << "accepted: " << run.dump();
  EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument) << created.status();
  for (const std::string& part : GetParam().says) {
    EXPECT_NE(created.status().message().find(part), std::string::npos)
        << "the refusal does not say \"" << part << "\":\n  " << created.status().message();
  }
  std::string name = run["metadata"]["name"].get<std::string>();
  EXPECT_EQ(client_->Get(kGoTestRuns, ns_, name).status().code(), StatusCode::kNotFound);
  // What the API server refuses in spec, `gotestrun run -f` refuses too, naming the field.
  if (created.status().message().find("spec.") != std::string::npos) {
    StatusOr<GoTestRunSpec> local = ParseSpec(run["spec"]);
    ASSERT_FALSE(local.ok()) << "the local path accepts what the CRD refuses: " << run["spec"].dump().substr(0, 400);
    EXPECT_EQ(local.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(local.status().message().find("spec."), std::string::npos) << local.status();
  }
}

// Fields the schema does not know are pruned by the API server (refused with strict
// field validation); the local path refuses them, naming the field.
TEST(LocalSpec, UnknownFieldsAreRefused) {
  StatusOr<Json> run = LoadYaml(kCrdsDir + "/examples/minimal.yaml");
  ASSERT_TRUE(run.ok()) << run.status();
  Json spec = (*run)["spec"];
  ASSERT_TRUE(ParseSpec(spec).ok());
  spec["goTest"] = {{"parallell", 2}};
  StatusOr<GoTestRunSpec> local = ParseSpec(spec);
  ASSERT_FALSE(local.ok());
  EXPECT_EQ(local.status().message(), "unknown field spec.goTest.parallell");
}

Json& Spec(Json& run) { return run["spec"]; }

const Malformed kMalformed[] = {
    {"NoSource", [](Json& r) { Spec(r).erase("source"); }, {"spec.source: Required value"}},
    {"EmptySource",
     [](Json& r) { Spec(r)["source"] = Json::object(); },
     {"spec.source: Invalid value",
      "set one of source.volume (a module checked out in a PersistentVolumeClaim) or "
      "source.git (a repository to clone)"}},
    {"BothSources",
     [](Json& r) {
       Spec(r)["source"]["volume"] = {{"claimName", "workspace"}};
     },
     {"spec.source: Invalid value", "set only one of source.volume and source.git, not both"}},
    {"GitUrlIsAnOption",
     [](Json& r) {
       Spec(r)["source"] = {{"git", {{"url", "-oProxyCommand=touch@x:y"}}}};
     },
     {"spec.source.git.url: Invalid value", "must not start with '-', which git would read as an option"}},
    {"GitRevisionIsAnOption",
     [](Json& r) {
       Spec(r)["source"] = {{"git", {{"url", "https://x/y.git"}, {"revision", "--output=/etc/x"}}}};
     },
     {"spec.source.git.revision: Invalid value", "must not start with '-', which git would read as an option"}},
    {"MissingImage", [](Json& r) { Spec(r).erase("image"); }, {"spec.image: Required value"}},
    {"MemoryAboveMaxMemory",
     [](Json& r) {
       Spec(r)["resources"] = {{"memory", "8Gi"}, {"maxMemory", "4Gi"}};
     },
     {"spec.resources.maxMemory: Invalid value", "maxMemory (4Gi) must be at least memory (8Gi)"}},
    {"MemoryIsNotAQuantity",
     [](Json& r) { Spec(r)["resources"]["memory"] = "12 GB"; },
     {"spec.resources.memory: Invalid value: \"12 GB\"", "should match"}},
    {"ZeroMemory",
     [](Json& r) { Spec(r)["resources"]["memory"] = 0; },
     {"spec.resources.memory: Invalid value", "must be more than zero"}},
    {"ZeroShards",
     [](Json& r) {
       Spec(r)["sharding"] = {{"shards", 0}};
     },
     {"spec.sharding.shards: Invalid value: 0", "should be greater than or equal to 1"}},
    {"MaxShardsBelowShards",
     [](Json& r) {
       Spec(r)["sharding"] = {{"shards", 8}, {"maxShards", 4}};
     },
     {"spec.sharding.maxShards: Invalid value", "maxShards must be at least shards"}},
    {"ShardsAboveTheDefaultMaxShards",
     [](Json& r) {
       Spec(r)["sharding"] = {{"shards", 40}};
     },
     {"spec.sharding.maxShards: Invalid value", "maxShards must be at least shards (maxShards is 32 unless set)"}},
    {"RatioNotAboveOne",
     [](Json& r) {
       Spec(r)["retry"] = {{"memoryBumpRatio", "0.9"}};
     },
     {"spec.retry.memoryBumpRatio: Invalid value", "must be more than 1 and at most 8", "got \"0.9\""}},
    {"RatioAboveEight",
     [](Json& r) {
       Spec(r)["retry"] = {{"memoryBumpRatio", "8.5"}};
     },
     {"spec.retry.memoryBumpRatio: Invalid value", "must be more than 1 and at most 8"}},
    {"RatioNotADecimal",
     [](Json& r) {
       Spec(r)["retry"] = {{"memoryBumpRatio", "abc"}};
     },
     {"spec.retry.memoryBumpRatio: Invalid value: \"abc\"", "should match"}},
    {"RatioNotQuoted",
     [](Json& r) {
       Spec(r)["retry"] = {{"memoryBumpRatio", 1.5}};
     },
     {"spec.retry.memoryBumpRatio: Invalid value", "must be of type string"}},
    {"TooManyAttempts",
     [](Json& r) {
       Spec(r)["retry"] = {{"maxAttempts", 21}};
     },
     {"spec.retry.maxAttempts: Invalid value: 21", "should be less than or equal to 20"}},
    {"FlagParallelWithValue",
     [](Json& r) {
       Spec(r)["goTest"] = {{"flags", {"-race", "-parallel=4"}}};
     },
     {"spec.goTest.flags[1]: Forbidden", "-parallel=4 is set by the operator", "spec.goTest.parallel"}},
    {"FlagExecWithTwoDashes",
     [](Json& r) {
       Spec(r)["goTest"] = {{"flags", {"--exec=foo"}}};
     },
     {"spec.goTest.flags[0]: Forbidden", "--exec=foo is set by the operator"}},
    {"FlagJson",
     [](Json& r) {
       Spec(r)["goTest"] = {{"flags", {"-v", "-json"}}};
     },
     {"spec.goTest.flags[1]: Forbidden", "-json is set by the operator"}},
    {"FlagTestParallel",
     [](Json& r) {
       Spec(r)["goTest"] = {{"flags", {"-test.parallel", "2"}}};
     },
     {"spec.goTest.flags[0]: Forbidden", "-test.parallel is set by the operator"}},
    {"FlagWithAFieldOfItsOwn",
     [](Json& r) {
       Spec(r)["goTest"] = {{"flags", {"-timeout=5m"}}};
     },
     {"spec.goTest.flags[0]: Forbidden", "-timeout=5m has a field of its own: use spec.goTest.timeout"}},
    {"FlagTags",
     [](Json& r) {
       Spec(r)["goTest"] = {{"flags", {"-race", "--tags=integration"}}};
     },
     {"spec.goTest.flags[1]: Forbidden", "--tags=integration has a field of its own: use spec.goTest.tags"}},
    {"EnvGomemlimit",
     [](Json& r) {
       Spec(r)["goTest"] = {{"env", {{{"name", "GOMEMLIMIT"}, {"value", "1GiB"}}}}};
     },
     {"spec.goTest.env[0].name: Forbidden", "GOMEMLIMIT is set by the operator, from the memory plan of each attempt"}},
    {"EnvGodebug",
     [](Json& r) {
       Spec(r)["goTest"] = {{"env", {{{"name", "PATH"}, {"value", "/x"}}, {{"name", "GODEBUG"}}}}};
     },
     {"spec.goTest.env[1].name: Forbidden", "GODEBUG is set by the operator, to record GC traces"}},
    {"EnvNameNotAnIdentifier",
     [](Json& r) {
       Spec(r)["goTest"] = {{"env", {{{"name", "1X"}, {"value", "y"}}}}};
     },
     {"spec.goTest.env[0].name: Invalid value: \"1X\"", "should match"}},
    {"EnvNameTwice",
     [](Json& r) {
       Spec(r)["goTest"] = {{"env", {{{"name", "A"}}, {{"name", "A"}}}}};
     },
     {"spec.goTest.env[1]: Duplicate value"}},
    {"TimeoutInWords",
     [](Json& r) {
       Spec(r)["goTest"] = {{"timeout", "20 minutes"}};
     },
     {"spec.goTest.timeout: Invalid value: \"20 minutes\"", "should match"}},
    {"ParallelZero",
     [](Json& r) {
       Spec(r)["goTest"] = {{"parallel", 0}};
     },
     {"spec.goTest.parallel: Invalid value: 0", "should be greater than or equal to 1"}},
    {"HeapIntervalTooShort",
     [](Json& r) {
       Spec(r)["profiling"] = {{"heapInterval", "10ms"}};
     },
     {"spec.profiling.heapInterval: Invalid value", "must be from 100ms to 1m; got 10ms"}},
    {"MemoryStallTooShort",
     [](Json& r) {
       Spec(r)["memoryStall"] = {{"after", "500ms"}};
     },
     {"spec.memoryStall.after: Invalid value", "must be from 2s to 10m; got 500ms"}},
    {"MemoryStallNotADuration",
     [](Json& r) {
       Spec(r)["memoryStall"] = {{"after", "soon"}};
     },
     {"spec.memoryStall.after: Invalid value: \"soon\"", "should match"}},
    {"PackageThatIsAFlag",
     [](Json& r) {
       Spec(r)["packages"] = {"./...", "-race"};
     },
     {"spec.packages[1]: Invalid value", "\"-race\" is a flag, not a package pattern"}},
    {"NoPackages",
     [](Json& r) { Spec(r)["packages"] = Json::array(); },
     {"spec.packages: Invalid value", "should have at least 1 items"}},
    {"TooManyPackages",
     [](Json& r) { Spec(r)["packages"] = Json(std::vector<std::string>(257, "./x")); },
     {"spec.packages: Too many: 257: must have at most 256 items"}},
    {"SubPathOutsideTheVolume",
     [](Json& r) {
       Spec(r)["source"] = {{"volume", {{"claimName", "workspace"}, {"subPath", "src/../../etc"}}}};
     },
     {"spec.source.volume.subPath: Invalid value", "must be a relative path inside the volume"}},
    {"GitUrlWithoutScheme",
     [](Json& r) { Spec(r)["source"]["git"]["url"] = "example.com/payments"; },
     {"spec.source.git.url: Invalid value: \"example.com/payments\"", "should match"}},
    {"ImageWithASemicolon",
     [](Json& r) { Spec(r)["image"] = "golang:1.26;touch x"; },
     {"spec.image: Invalid value: \"golang:1.26;touch x\"", "should match"}},
    {"ImageOfAMegabyte", [](Json& r) { Spec(r)["image"] = std::string(1 << 20, 'a'); }, {"spec.image: Too long"}},
    {"ClaimNameNotADnsName",
     [](Json& r) {
       Spec(r)["source"] = {{"volume", {{"claimName", "Work_Space"}}}};
     },
     {"spec.source.volume.claimName: Invalid value: \"Work_Space\"", "should match"}},
    {"ProfilesClaimNotADnsName",
     [](Json& r) {
       Spec(r)["profiling"] = {{"claimName", "../evidence"}};
     },
     {"spec.profiling.claimName: Invalid value", "should match"}},
    {"CpuAboveAnyNode",
     [](Json& r) { Spec(r)["resources"]["cpu"] = "100000"; },
     {"spec.resources.cpu: Invalid value", "must be at most 1024 cores"}},
    {"FlagExecWithItsValueInOneArgument",
     [](Json& r) {
       Spec(r)["goTest"] = {{"flags", {"-exec /bin/true"}}};
     },
     {"spec.goTest.flags[0]: Forbidden", "-exec /bin/true is set by the operator"}},
    {"GoflagsWithToolexec",
     [](Json& r) {
       Spec(r)["goTest"] = {{"env", {{{"name", "GOFLAGS"}, {"value", "-mod=mod -toolexec=/bin/x"}}}}};
     },
     {"spec.goTest.env[0].value: Forbidden", "GOFLAGS holds a flag the operator sets"}},
    {"Goenv",
     [](Json& r) {
       Spec(r)["goTest"] = {{"env", {{{"name", "GOENV"}, {"value", "/tmp/go.env"}}}}};
     },
     {"spec.goTest.env[0].name: Forbidden", "GOENV is not allowed"}},
    {"TagTwice",
     [](Json& r) {
       Spec(r)["goTest"] = {{"tags", {"a", "a"}}};
     },
     {"spec.goTest.tags[1]: Duplicate value"}},
    {"NameTooLongForPodNames",
     [](Json& r) { r["metadata"]["name"] = std::string(53, 'a'); },
     {"metadata: Invalid value", "metadata.name must be at most 52 characters"}},
};

INSTANTIATE_TEST_SUITE_P(GoTestRunCrd, RefusedManifest, ::testing::ValuesIn(kMalformed),
                         [](const ::testing::TestParamInfo<Malformed>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace gotestrun::api
