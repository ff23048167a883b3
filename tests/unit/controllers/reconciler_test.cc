// The GoTestRun reconciler against objects kept in memory: the state of the world after
// each reconcile is what is asserted (Pods, status, Events, the history ConfigMap),
// not the calls that made it; and a second pass over a world that did not change
// writes nothing. Pods are moved along by hand, as a kubelet would, and the agent's
// evidence is written into the profiles folder as the agent would write it.
#include "controllers/gotestrun/reconciler.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/files.h"
#include "base/metrics.h"
#include "controllers/gotestrun/history_store.h"
#include "controllers/gotestrun/run_metrics.h"
#include "controllers/gotestrun/pods.h"
#include "core/evidence/evidence.h"
#include "core/policy/quantity.h"

namespace gotestrun::controllers {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::uint64_t kMiB = 1 << 20;
constexpr char kNs[] = "team";
constexpr char kRun[] = "payments";

// An API server's storage, without its server: names, generateName, resourceVersion
// checks, the status subresource. Every write is counted. Safe to call from several
// threads; At() is for the test's own thread between reconciles.
class FakeObjects final : public ObjectReader, public ObjectWriter, public StatusWriter {
 public:
  int writes = 0;
  int fail_status_writes = 0;  // the next this many status writes fail as conflicts

  StatusOr<runtime::ObjectPtr> Get(const kube::ResourceType& type, const std::string& ns,
                                   const std::string& name) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    auto it = objects_.find(Key(type, ns, name));
    if (it == objects_.end()) return NotFoundError(name + " not found");
    return std::make_shared<const Json>(it->second);
  }

  StatusOr<std::vector<runtime::ObjectPtr>> List(const kube::ResourceType& type, const std::string& ns) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::vector<runtime::ObjectPtr> out;
    const std::string prefix = type.plural + "/" + ns + "/";
    for (const auto& [key, obj] : objects_) {
      if (key.rfind(prefix, 0) == 0) out.push_back(std::make_shared<const Json>(obj));
    }
    return out;
  }

  StatusOr<Json> Create(const kube::ResourceType& type, const std::string& ns, const Json& object) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    Json obj = object;
    std::string name = kube::MetaString(obj, "name");
    if (name.empty()) name = kube::MetaString(obj, "generateName") + std::to_string(++generated_);
    obj["metadata"]["name"] = name;
    obj["metadata"]["namespace"] = ns;
    if (objects_.contains(Key(type, ns, name))) return Status(StatusCode::kAlreadyExists, name + " exists");
    if (!obj["metadata"].contains("uid")) obj["metadata"]["uid"] = "uid-" + name;
    obj["metadata"]["resourceVersion"] = std::to_string(++version_);
    ++writes;
    return objects_[Key(type, ns, name)] = obj;
  }

  StatusOr<Json> Update(const kube::ResourceType& type, const Json& object) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    auto it = Find(type, object);
    if (it == objects_.end()) return NotFoundError("not found");
    if (Stale(it->second, object)) return Status(StatusCode::kAborted, "conflict");
    Json obj = object;
    if (it->second.contains("status")) obj["status"] = it->second["status"];  // only through UpdateStatus
    obj["metadata"]["resourceVersion"] = std::to_string(++version_);
    ++writes;
    return it->second = obj;
  }

  Status Delete(const kube::ResourceType& type, const std::string& ns, const std::string& name) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (objects_.erase(Key(type, ns, name)) == 0) return NotFoundError(name + " not found");
    ++writes;
    return Status::Ok();
  }

  StatusOr<Json> UpdateStatus(const kube::ResourceType& type, const Json& object) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (fail_status_writes > 0) {
      --fail_status_writes;
      return Status(StatusCode::kAborted, "conflict (injected)");
    }
    auto it = Find(type, object);
    if (it == objects_.end()) return NotFoundError("not found");
    if (Stale(it->second, object)) return Status(StatusCode::kAborted, "conflict");
    it->second["status"] = object["status"];
    it->second["metadata"]["resourceVersion"] = std::to_string(++version_);
    ++writes;
    return it->second;
  }

  // For the test to look at and to move along (as a kubelet or a user would).
  Json& At(const kube::ResourceType& type, const std::string& name) { return objects_.at(Key(type, kNs, name)); }
  bool Has(const kube::ResourceType& type, const std::string& name) const {
    return objects_.contains(Key(type, kNs, name));
  }
  std::vector<Json> All(const kube::ResourceType& type) {
    std::vector<Json> out;
    StatusOr<std::vector<runtime::ObjectPtr>> list = List(type, kNs);
    for (const runtime::ObjectPtr& o : *list) out.push_back(*o);
    return out;
  }
  void Clear() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    objects_.clear();
    version_ = generated_ = writes = fail_status_writes = 0;
  }
  void Put(const kube::ResourceType& type, Json obj) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    obj["metadata"]["resourceVersion"] = std::to_string(++version_);
    const std::string key = Key(type, kube::MetaString(obj, "namespace"), kube::MetaString(obj, "name"));
    objects_[key] = std::move(obj);
  }

 private:
  static std::string Key(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
    return type.plural + "/" + ns + "/" + name;
  }
  std::map<std::string, Json>::iterator Find(const kube::ResourceType& type, const Json& object) {
    return objects_.find(Key(type, kube::MetaString(object, "namespace"), kube::MetaString(object, "name")));
  }
  static bool Stale(const Json& stored, const Json& update) {
    std::string rv = kube::MetaString(update, "resourceVersion");
    return !rv.empty() && rv != kube::MetaString(stored, "resourceVersion");
  }

  // The reconciler creates a step's Pods on several threads and writes Events on one
  // of its own.
  std::recursive_mutex mu_;
  std::map<std::string, Json> objects_;
  int version_ = 0;
  int generated_ = 0;
};

Json NewRun(bool with_finalizer = true) {
  Json run = {{"apiVersion", api::kApiVersion},
              {"kind", api::kKind},
              {"metadata", {{"name", kRun}, {"namespace", kNs}, {"uid", "run-uid"}, {"generation", 1}}},
              {"spec",
               {{"source", {{"volume", {{"claimName", "src"}}}}},
                {"image", "golang:1.26"},
                {"resources", {{"memory", "256Mi"}, {"maxMemory", "1Gi"}}}}}};
  if (with_finalizer) run["metadata"]["finalizers"] = {api::kFinalizer};
  return run;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "gtr-reconciler-XXXXXX").string();
    profiles_ = ::mkdtemp(t.data());
    ReconcilerOptions options;
    options.profiles_dir = profiles_;
    options.now = [this] { return now_; };
    reconciler_ = std::make_unique<GoTestRunReconciler>(objects_, objects_, objects_, options);
  }
  void TearDown() override { fs::remove_all(profiles_); }

  void Reconcile() {
    StatusOr<runtime::ReconcileResult> r = reconciler_->Reconcile(std::string(kNs) + "/" + kRun, 1);
    reconciler_->FlushEvents();
    ASSERT_TRUE(r.ok()) << r.status();
  }
  // Reconciles, then again with nothing changed: the second pass must write nothing.
  void ReconcileToRest() {
    Reconcile();
    int writes = objects_.writes;
    Reconcile();
    EXPECT_EQ(objects_.writes, writes) << "a second pass over an unchanged world wrote";
  }

  Json& Run() { return objects_.At(kGoTestRuns, kRun); }
  // The run's status as stored (a reference: it is valid until the run is written).
  const Json& Status() {
    static const Json kNone = Json::object();
    return Run().contains("status") ? Run()["status"] : kNone;
  }
  std::vector<std::string> PodNames() {
    std::vector<std::string> names;
    for (const Json& p : objects_.All(kube::ResourceType::Pods())) names.push_back(kube::MetaString(p, "name"));
    return names;
  }
  std::vector<std::string> EventReasons() {
    std::vector<std::string> reasons;
    for (const Json& e : objects_.All(kube::ResourceType::Events())) reasons.push_back(e.value("reason", ""));
    return reasons;
  }

  // The planning Pod ends, having listed `packages`.
  void ListingEnds(const std::vector<std::string>& packages) {
    std::vector<evidence::PackageListing> listings;
    for (const std::string& p : packages) {
      listings.push_back({.import_path = p, .name = "x", .dir = "/m", .test_go_files = {"x_test.go"}});
    }
    const evidence::RunLayout run = evidence::VolumeRunLayout(profiles_, kNs, kRun);
    fs::create_directories(run.plan_dir());
    ASSERT_TRUE(WriteFileAtomic(run.packages(), evidence::EncodePackageListings(listings)).ok());
    objects_.At(kube::ResourceType::Pods(), PlanningPodName(kRun))["status"] = {{"phase", "Succeeded"}};
  }

  void PodRuns(const std::string& pod) {
    objects_.At(kube::ResourceType::Pods(), pod)["status"] = {{"phase", "Running"}};
  }

  // The attempt's Pod ends: each package needing more than the limit is killed (and
  // those after it get no result), as the agent would record it.
  void AttemptEnds(const std::string& pod, const std::map<std::string, std::uint64_t>& needs) {
    Json& p = objects_.At(kube::ResourceType::Pods(), pod);
    int shard = std::stoi(p["metadata"]["labels"][kShardLabel].get<std::string>());
    int attempt = std::stoi(p["metadata"]["labels"][kAttemptLabel].get<std::string>());
    std::uint64_t limit = 0;
    Json packages;
    for (const Json& s : Status()["shards"]) {
      if (s["index"] != shard) continue;
      packages = s["packages"];
      for (const Json& a : s["attempts"]) {
        if (a["attempt"] == attempt) limit = *policy::ParseMemoryQuantity(a["memory"].get<std::string>());
      }
    }
    ASSERT_GT(limit, 0u) << pod << " is not in status";
    evidence::AttemptLayout layout = evidence::VolumeRunLayout(profiles_, kNs, kRun).attempt(shard, attempt);
    ASSERT_TRUE(layout.Create().ok());
    evidence::AttemptResult result;
    result.limit_bytes = limit;
    std::string events;
    bool killed = false;
    std::uint64_t peak = 0;
    for (const Json& pkg : packages) {
      evidence::PackageRecord r;
      r.package = pkg.get<std::string>();
      std::uint64_t need = needs.contains(r.package) ? needs.at(r.package) : 8 * kMiB;
      if (killed) {
        r.outcome = gotest::PackageOutcome::kNoResult;
      } else if (need > limit) {
        killed = true;
        r.outcome = gotest::PackageOutcome::kKilled;
        r.running_tests = {"TestBig"};
        r.binary = evidence::BinaryEnd{.exit_code = -1, .signal = 9, .max_rss_bytes = limit};
        peak = limit;
      } else {
        r.outcome = gotest::PackageOutcome::kPass;
        r.binary = evidence::BinaryEnd{.exit_code = 0, .max_rss_bytes = need};
        peak = std::max(peak, need);
        events += R"({"Action":"pass","Package":")" + r.package + "\"}\n";
      }
      result.packages.push_back(r);
    }
    result.peak_bytes = peak;
    result.go_test_exit_code = killed ? 1 : 0;
    ASSERT_TRUE(WriteFileAtomic(layout.events(), events).ok());
    ASSERT_TRUE(WriteFileAtomic(layout.result(), evidence::EncodeAttemptResult(result)).ok());
    Json terminated = {{"exitCode", killed ? 137 : 0}, {"reason", killed ? "OOMKilled" : "Completed"}};
    p["status"] = {{"phase", killed ? "Failed" : "Succeeded"},
                   {"containerStatuses", {{{"name", "go-test"}, {"state", {{"terminated", terminated}}}}}}};
  }

  std::string profiles_;
  std::string now_ = "2026-01-02T03:04:05Z";
  FakeObjects objects_;
  std::unique_ptr<GoTestRunReconciler> reconciler_;
};

// What one reconcile decides from a run in a given state, alone.
struct Decision {
  const char* name;
  std::function<void(Json& run)> setup;
  std::string phase;                // of the status afterwards; empty: no status
  std::string condition_reason;     // of Succeeded
  std::vector<std::string> pods;    // that exist afterwards
  std::vector<std::string> events;  // reasons
  bool at_rest = true;              // a second pass writes nothing (else the next step follows)
};

TEST_F(ReconcilerTest, DecisionsOfOneReconcile) {
  const std::vector<Decision> table = {
      {"a new run gets the finalizer first, nothing else",
       [](Json& run) { run["metadata"].erase("finalizers"); },
       "",
       "",
       {},
       {},
       false},
      {"an invalid spec fails the run",
       [](Json& run) { run["spec"]["resources"]["memory"] = "lots"; },
       "Failed",
       "InvalidSpec",
       {},
       {"InvalidSpec"}},
      {"a valid run starts its planning Pod", [](Json&) {}, "Planning", "Planning", {"payments-plan"}, {}},
      {"a settled run is left alone",
       [](Json& run) {
         run["status"] = {{"phase", "Succeeded"}, {"message", "done"}};
       },
       "Succeeded",
       "",
       {},
       {}},
  };
  for (const Decision& d : table) {
    SCOPED_TRACE(d.name);
    objects_.Clear();
    Json run = NewRun();
    d.setup(run);
    objects_.Put(kGoTestRuns, run);
    if (d.at_rest) {
      ReconcileToRest();
    } else {
      Reconcile();
    }
    EXPECT_EQ(Status().value("phase", ""), d.phase);
    std::string reason;
    for (const Json& c : Status().value("conditions", Json::array())) {
      if (c["type"] == "Succeeded") reason = c["reason"];
    }
    EXPECT_EQ(reason, d.condition_reason);
    EXPECT_EQ(PodNames(), d.pods);
    EXPECT_EQ(EventReasons(), d.events);
    bool has = Run()["metadata"].contains("finalizers") &&
               std::find(Run()["metadata"]["finalizers"].begin(), Run()["metadata"]["finalizers"].end(),
                         api::kFinalizer) != Run()["metadata"]["finalizers"].end();
    EXPECT_TRUE(has) << "the finalizer comes before anything else and stays";
  }
}

TEST_F(ReconcilerTest, ThePlanningPodListsWithTheAgentsCommandLine) {
  objects_.Put(kGoTestRuns, NewRun());
  Reconcile();
  ASSERT_TRUE(objects_.Has(kube::ResourceType::Pods(), PlanningPodName(kRun))) << Status().dump(2);
  const Json& command =
      objects_.At(kube::ResourceType::Pods(), PlanningPodName(kRun))["spec"]["containers"][0]["command"];
  EXPECT_THAT(command.get<std::vector<std::string>>(), Contains("--"));
  EXPECT_EQ(Status()["startTime"], now_);
  EXPECT_EQ(Status()["observedGeneration"], 1);
}

TEST_F(ReconcilerTest, AnOomKillIsRetriedUntilTheRunSettles) {
  objects_.Put(kGoTestRuns, NewRun());
  Reconcile();

  // The listing ends: shards planned, their Pods created with the plan's limit.
  ListingEnds({"ex/a", "ex/big", "ex/c"});
  ReconcileToRest();
  EXPECT_EQ(Status()["phase"], "Running");
  ASSERT_EQ(Status()["shards"].size(), 1u);
  EXPECT_EQ(Status()["shards"][0]["packages"], Json({"ex/a", "ex/big", "ex/c"}));
  EXPECT_THAT(PodNames(), ElementsAre("payments-plan", "payments-s0-a1"));
  const Json& container = objects_.At(kube::ResourceType::Pods(), "payments-s0-a1")["spec"]["containers"][0];
  EXPECT_EQ(container["resources"]["limits"]["memory"], "256Mi");
  std::vector<std::string> command = container["command"].get<std::vector<std::string>>();
  ASSERT_THAT(command, Contains("--"));
  EXPECT_EQ(command.back(), "ex/c");
  EXPECT_THAT(EventReasons(), ElementsAre("Planned"));

  // Its container runs: the attempt says so, once.
  now_ = "2026-01-02T03:05:00Z";
  PodRuns("payments-s0-a1");
  ReconcileToRest();
  EXPECT_EQ(Status()["shards"][0]["attempts"][0]["outcome"], "Running");
  EXPECT_EQ(Status()["shards"][0]["attempts"][0]["startTime"], "2026-01-02T03:05:00Z");

  // ex/big is OOM-killed: recorded, diagnosed, and retried in a Pod of its own.
  now_ = "2026-01-02T03:06:00Z";
  AttemptEnds("payments-s0-a1", {{"ex/big", 300 * kMiB}});
  ReconcileToRest();
  const Json status = Status();
  EXPECT_EQ(status["phase"], "Running");
  EXPECT_EQ(status["shards"][0]["attempts"][0]["outcome"], "OOMKilled");
  EXPECT_EQ(status["shards"][0]["attempts"][0]["killedPackage"], "ex/big");
  EXPECT_EQ(status["oomKills"], 1);
  EXPECT_GE(status["attemptCount"].get<int>(), 2);
  EXPECT_THAT(EventReasons(), Contains("OOMKilled"));
  EXPECT_THAT(EventReasons(), Contains("Retrying"));
  std::vector<std::string> retries;
  for (const std::string& name : PodNames()) {
    if (name != "payments-plan" && name != "payments-s0-a1") retries.push_back(name);
  }
  ASSERT_FALSE(retries.empty());
  // Every attempt in status has its Pod, and no Pod is without its attempt.
  std::set<std::string> in_status;
  for (const Json& s : status["shards"]) {
    for (const Json& a : s["attempts"]) in_status.insert(a["pod"].get<std::string>());
  }
  for (const std::string& name : PodNames()) {
    if (name != "payments-plan") {
      EXPECT_TRUE(in_status.contains(name)) << name;
    }
  }
  for (const std::string& pod : in_status) EXPECT_TRUE(objects_.Has(kube::ResourceType::Pods(), pod)) << pod;

  // Every retry passes with more memory: the run settles, its peaks go into the
  // suite's memory history, and then it is left alone.
  now_ = "2026-01-02T03:07:00Z";
  for (const std::string& pod : retries) AttemptEnds(pod, {{"ex/big", 300 * kMiB}});
  for (int i = 0; i < 5 && Status().value("phase", "") == "Running"; ++i) {
    Reconcile();
    for (const std::string& name : PodNames()) {
      const Json& p = objects_.At(kube::ResourceType::Pods(), name);
      if (!p.contains("status")) AttemptEnds(name, {{"ex/big", 300 * kMiB}});
    }
  }
  ReconcileToRest();
  EXPECT_EQ(Status()["phase"], "Succeeded") << Status().dump(2);
  EXPECT_EQ(Status()["completionTime"], now_);
  for (const Json& p : Status()["packages"]) EXPECT_EQ(p["outcome"], "Succeeded") << p.dump();
  EXPECT_THAT(EventReasons(), Contains("Succeeded"));
  ASSERT_FALSE(Status()["diagnosis"].empty());
  EXPECT_EQ(Status()["diagnosis"][0]["package"], "ex/big");
  EXPECT_EQ(objects_.All(kube::ResourceType::ConfigMaps()).size(), 1u);
  bool grew_condition = false;
  for (const Json& c : Status()["conditions"]) grew_condition = grew_condition || c["type"] == "MemoryGrowth";
  EXPECT_TRUE(grew_condition) << "the memory gate judged the run against its history";
}

// An init container OOM-killed (as the kubelet reports it: the init terminated with
// OOMKilled, the test container left waiting in PodInitializing): no package ran, so
// none is named or charged; the shard starts again, whole, with more memory. The init
// containers run under the test container's limits, so they have the memory it has.
TEST_F(ReconcilerTest, AnInitContainerKilledBeforeGoTestRetriesTheShardWithMoreMemory) {
  objects_.Put(kGoTestRuns, NewRun());
  Reconcile();
  ListingEnds({"ex/a", "ex/b"});
  ReconcileToRest();
  const Json& spec = objects_.At(kube::ResourceType::Pods(), "payments-s0-a1")["spec"];
  for (const Json& init : spec["initContainers"]) {
    EXPECT_EQ(init["resources"], spec["containers"][0]["resources"]) << init["name"];
  }
  objects_.At(kube::ResourceType::Pods(), "payments-s0-a1")["status"] = {
      {"phase", "Failed"},
      {"initContainerStatuses",
       {{{"name", "install-agent"}, {"state", {{"terminated", {{"exitCode", 137}, {"reason", "OOMKilled"}}}}}}}},
      {"containerStatuses", {{{"name", "go-test"}, {"state", {{"waiting", {{"reason", "PodInitializing"}}}}}}}}};
  ReconcileToRest();
  const Json status = Status();
  EXPECT_EQ(status["phase"], "Running") << status.dump(2);
  const Json& first = status["shards"][0]["attempts"][0];
  EXPECT_THAT(first.value("message", ""), HasSubstr("init container install-agent was OOM-killed before go test"));
  EXPECT_FALSE(first.contains("killedPackage")) << first.dump();
  EXPECT_EQ(first["outcome"], "OOMKilled");
  EXPECT_EQ(status["oomKills"], 1);
  ASSERT_TRUE(objects_.Has(kube::ResourceType::Pods(), "payments-s0-a2")) << status.dump(2);
  const Json& retry = objects_.At(kube::ResourceType::Pods(), "payments-s0-a2")["spec"]["containers"][0];
  EXPECT_EQ(retry["resources"]["limits"]["memory"], "384Mi");  // 256Mi x the default memoryBumpRatio, 1.5
  std::vector<std::string> command = retry["command"].get<std::vector<std::string>>();
  EXPECT_THAT(command, Contains("ex/a"));
  EXPECT_THAT(command, Contains("ex/b"));
}

TEST_F(ReconcilerTest, APodThatDisappearsIsMadeAgain) {
  objects_.Put(kGoTestRuns, NewRun());
  Reconcile();
  ListingEnds({"ex/a"});
  Reconcile();
  ASSERT_TRUE(objects_.Has(kube::ResourceType::Pods(), "payments-s0-a1"));
  ASSERT_TRUE(objects_.Delete(kube::ResourceType::Pods(), kNs, "payments-s0-a1").ok());
  ReconcileToRest();
  EXPECT_TRUE(objects_.Has(kube::ResourceType::Pods(), "payments-s0-a1"));
}

// Every container, init containers too, as the restricted Pod Security Standard wants it.
void ExpectRestricted(const Json& pod) {
  const Json& spec = pod["spec"];
  EXPECT_EQ(spec["automountServiceAccountToken"], false);
  EXPECT_EQ(spec["securityContext"]["runAsNonRoot"], true);
  // golang:* runs as root by default: runAsNonRoot needs a numeric user to start at all.
  EXPECT_EQ(spec["securityContext"]["runAsUser"], kRunAsUser);
  EXPECT_EQ(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
  int containers = 0;
  for (const char* list : {"initContainers", "containers"}) {
    for (const Json& c : spec[list]) {
      ++containers;
      SCOPED_TRACE(c.value("name", ""));
      const Json& sc = c["securityContext"];
      EXPECT_EQ(sc["runAsNonRoot"], true);
      EXPECT_EQ(sc["allowPrivilegeEscalation"], false);
      EXPECT_EQ(sc["capabilities"]["drop"], Json({"ALL"}));
      EXPECT_EQ(sc["seccompProfile"]["type"], "RuntimeDefault");
      EXPECT_FALSE(sc.contains("privileged") && sc["privileged"] == true);
    }
  }
  EXPECT_GE(containers, 2);
}

std::map<std::string, std::string> EnvOf(const Json& container) {
  std::map<std::string, std::string> env;
  for (const Json& e : container["env"]) env[e["name"]] = e["value"];
  return env;
}

TEST(Pods, MeetTheRestrictedPodSecurityStandard) {
  Json run = NewRun();
  run["spec"]["source"] = {{"git", {{"url", "https://example.com/m.git"}, {"revision", "main"}}}};
  StatusOr<api::GoTestRunSpec> spec = api::ParseSpec(run["spec"]);
  ASSERT_TRUE(spec.ok()) << spec.status();
  policy::ShardPlan plan{.index = 0, .attempt = 1, .packages = {"ex/a", "ex/b"}, .memory = 256 * kMiB};
  for (const Json& pod : {PlanningPod(run, *spec, {}), AttemptPod(run, *spec, plan, {})}) {
    SCOPED_TRACE(kube::MetaString(pod, "name"));
    ExpectRestricted(pod);
    ASSERT_EQ(pod["spec"]["initContainers"].size(), 2u) << "install-agent and clone";
    // The go command's cache and HOME are in an emptyDir the non-root user can write.
    const Json& c = pod["spec"]["containers"][0];
    EXPECT_EQ(EnvOf(c)["HOME"], kHomeMount);
    EXPECT_EQ(EnvOf(c)["GOCACHE"], std::string(kHomeMount) + "/.cache/go-build");
    bool mounted = false;
    for (const Json& m : c["volumeMounts"]) mounted = mounted || m["mountPath"] == kHomeMount;
    EXPECT_TRUE(mounted);
    bool empty_dir = false;
    for (const Json& v : pod["spec"]["volumes"]) {
      empty_dir = empty_dir || (v["name"] == "gotestrun-home" && v.contains("emptyDir"));
    }
    EXPECT_TRUE(empty_dir);
  }
}

TEST(Pods, TheSpecsOwnGoCacheAndHomeWin) {
  Json run = NewRun();
  run["spec"]["goTest"] = {{"env", {{{"name", "GOCACHE"}, {"value", "/cache"}}, {{"name", "HOME"}, {"value", "/h"}}}}};
  StatusOr<api::GoTestRunSpec> spec = api::ParseSpec(run["spec"]);
  ASSERT_TRUE(spec.ok()) << spec.status();
  policy::ShardPlan plan{.index = 0, .attempt = 1, .packages = {"ex/a"}, .memory = 256 * kMiB};
  const Json c = AttemptPod(run, *spec, plan, {})["spec"]["containers"][0];
  int homes = 0;
  for (const Json& e : c["env"]) homes += e["name"] == "HOME" ? 1 : 0;
  EXPECT_EQ(homes, 1);
  EXPECT_EQ(EnvOf(c)["GOCACHE"], "/cache");
  EXPECT_EQ(EnvOf(c)["HOME"], "/h");
}

TEST(Pods, TheDeadlineIsEachBinarysTimeoutInTurnPlusAMargin) {
  Json run = NewRun();
  StatusOr<api::GoTestRunSpec> spec = api::ParseSpec(run["spec"]);
  ASSERT_TRUE(spec.ok());
  policy::ShardPlan plan{.index = 0, .attempt = 1, .packages = {"ex/a", "ex/b", "ex/c"}, .memory = 256 * kMiB};
  const int64_t margin = PodDeadlineSeconds(*spec, 0);
  EXPECT_GE(margin, 600) << "time to install, build and upload evidence";
  // go test's default -timeout, 10m per binary.
  EXPECT_EQ(AttemptPod(run, *spec, plan, {})["spec"]["activeDeadlineSeconds"], 3 * 600 + margin);
  run["spec"]["goTest"] = {{"timeout", "90s"}};
  spec = api::ParseSpec(run["spec"]);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(AttemptPod(run, *spec, plan, {})["spec"]["activeDeadlineSeconds"], 3 * 90 + margin);
  EXPECT_EQ(PlanningPod(run, *spec, {})["spec"]["activeDeadlineSeconds"], margin);
}

// A Pod the kubelet ended at its activeDeadlineSeconds: the packages without a result
// timed out. The run fails with them as failed tests, and no Pod is made again (a
// lost Pod would be retried; a hung one would hang again).
TEST_F(ReconcilerTest, APodEndedAtItsDeadlineFailsAsATimeoutAndIsNotRetried) {
  objects_.Put(kGoTestRuns, NewRun());
  Reconcile();
  ListingEnds({"ex/a", "ex/hang"});
  ReconcileToRest();
  ASSERT_THAT(PodNames(), ElementsAre("payments-plan", "payments-s0-a1"));
  PodRuns("payments-s0-a1");
  ReconcileToRest();

  // ex/a passed; ex/hang was still running when the kubelet killed the container.
  evidence::AttemptLayout layout = evidence::VolumeRunLayout(profiles_, kNs, kRun).attempt(0, 1);
  ASSERT_TRUE(layout.Create().ok());
  ASSERT_TRUE(WriteFileAtomic(layout.events(), R"({"Action":"pass","Package":"ex/a"})"
                                               "\n"
                                               R"({"Action":"run","Package":"ex/hang","Test":"TestHang"})"
                                               "\n")
                  .ok());
  objects_.At(kube::ResourceType::Pods(), "payments-s0-a1")["status"] = {
      {"phase", "Failed"},
      {"reason", "DeadlineExceeded"},
      {"message", "Pod was active on the node longer than the specified deadline"},
      {"containerStatuses",
       {{{"name", "go-test"}, {"state", {{"terminated", {{"exitCode", 137}, {"reason", "Error"}}}}}}}}};
  ReconcileToRest();
  EXPECT_EQ(Status()["phase"], "Failed") << Status().dump(2);
  EXPECT_THAT(PodNames(), ElementsAre("payments-plan", "payments-s0-a1"));
  const Json& attempt = Status()["shards"][0]["attempts"][0];
  EXPECT_EQ(attempt["outcome"], "TestsFailed");
  EXPECT_THAT(attempt["message"].get<std::string>(), ::testing::HasSubstr("activeDeadlineSeconds"));
  EXPECT_EQ(Status()["oomKills"], 0);
  std::map<std::string, std::string> outcomes;
  for (const Json& p : Status()["packages"]) outcomes[p["package"]] = p["outcome"];
  EXPECT_EQ(outcomes["ex/a"], "Succeeded");
  EXPECT_EQ(outcomes["ex/hang"], "TestsFailed");
}

// The sum of a metric's series as /metrics shows them (the registry is the process's,
// so tests compare before and after).
double Scraped(const std::string& series) {
  double sum = 0;
  std::istringstream lines(metrics::Registry::Default().Render());
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    const std::string name = line.substr(0, space);
    if (name == series || (series.find('{') == std::string::npos && name.rfind(series + "{", 0) == 0)) {
      sum += std::stod(line.substr(space + 1));
    }
  }
  return sum;
}

TEST_F(ReconcilerTest, AnAttemptsEndIsCountedOnceThoughItsReconcileRepeats) {
  objects_.Put(kGoTestRuns, NewRun());
  Reconcile();
  ListingEnds({"ex/a", "ex/big"});
  ReconcileToRest();
  PodRuns("payments-s0-a1");
  ReconcileToRest();
  AttemptEnds("payments-s0-a1", {{"ex/big", 300 * kMiB}});
  Json& pod = objects_.At(kube::ResourceType::Pods(), "payments-s0-a1");
  pod["status"]["startTime"] = "2026-01-02T03:05:00Z";
  pod["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"] = "2026-01-02T03:05:10Z";

  const double attempts = Scraped("gotestrun_attempts_total{outcome=\"oom_killed\"}");
  const double kills = Scraped("gotestrun_oom_kills_total");
  const double reserved = Scraped("gotestrun_reserved_memory_seconds_total");
  // The status write that records the kill fails: nothing is counted yet...
  objects_.fail_status_writes = 1;
  EXPECT_FALSE(reconciler_->Reconcile(std::string(kNs) + "/" + kRun, 2).ok());
  EXPECT_EQ(Scraped("gotestrun_attempts_total{outcome=\"oom_killed\"}"), attempts);
  EXPECT_EQ(Scraped("gotestrun_oom_kills_total"), kills);
  // ...and the repeated reconcile, which writes it, counts it once.
  ReconcileToRest();
  ReconcileToRest();
  ASSERT_EQ(Status()["oomKills"], 1) << Status().dump(2);
  EXPECT_EQ(Scraped("gotestrun_attempts_total{outcome=\"oom_killed\"}"), attempts + 1);
  EXPECT_EQ(Scraped("gotestrun_oom_kills_total"), kills + 1);
  // 256Mi held for the 10 s the Pod ran.
  EXPECT_DOUBLE_EQ(Scraped("gotestrun_reserved_memory_seconds_total"), reserved + 256.0 * kMiB * 10);
  const std::string text = metrics::Registry::Default().Render();
  EXPECT_NE(text.find("# TYPE gotestrun_attempts_total counter"), std::string::npos);
  EXPECT_NE(text.find("# HELP gotestrun_oom_kills_total "), std::string::npos);
}

TEST(RunMetrics, RunsByPhaseAreCountedAtEachScrape) {
  std::vector<runtime::ObjectPtr> runs;
  ExportRunPhases([&] { return runs; });
  EXPECT_EQ(Scraped("gotestrun_runs{phase=\"Running\"}"), 0);
  runs.push_back(std::make_shared<const Json>(NewRun()));
  Json running = NewRun();
  running["status"] = {{"phase", "Running"}};
  runs.push_back(std::make_shared<const Json>(running));
  runs.push_back(std::make_shared<const Json>(running));
  EXPECT_EQ(Scraped("gotestrun_runs{phase=\"Pending\"}"), 1);
  EXPECT_EQ(Scraped("gotestrun_runs{phase=\"Running\"}"), 2);
  EXPECT_EQ(Scraped("gotestrun_runs"), 3);
  EXPECT_NE(metrics::Registry::Default().Render().find("# TYPE gotestrun_runs gauge"), std::string::npos);
}

TEST(RunMetrics, OutcomeLabels) {
  EXPECT_EQ(AttemptOutcomeLabel("Succeeded"), "passed");
  EXPECT_EQ(AttemptOutcomeLabel("TestsFailed"), "failed");
  EXPECT_EQ(AttemptOutcomeLabel("OOMKilled"), "oom_killed");
  EXPECT_EQ(AttemptOutcomeLabel("MemoryStall"), "memory_stall");
  EXPECT_EQ(AttemptOutcomeLabel("Failed"), "lost");
}

TEST_F(ReconcilerTest, PlanningWithoutAListingFailsTheRun) {
  objects_.Put(kGoTestRuns, NewRun());
  Reconcile();
  objects_.At(kube::ResourceType::Pods(), PlanningPodName(kRun))["status"] = {{"phase", "Failed"}};
  ReconcileToRest();
  EXPECT_EQ(Status()["phase"], "Failed");
  EXPECT_THAT(Status()["message"].get<std::string>(), HasSubstr("planning failed"));
  EXPECT_THAT(PodNames(), ElementsAre("payments-plan"));
}

TEST_F(ReconcilerTest, ADeletedRunLosesItsPodsEvidenceAndFinalizer) {
  objects_.Put(kGoTestRuns, NewRun());
  Reconcile();
  ListingEnds({"ex/a"});
  Reconcile();
  ASSERT_THAT(PodNames(), ElementsAre("payments-plan", "payments-s0-a1"));
  ASSERT_TRUE(fs::exists(evidence::VolumeRunLayout(profiles_, kNs, kRun).dir()));
  Json other = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "unrelated"}, {"namespace", kNs}}}};
  objects_.Put(kube::ResourceType::Pods(), other);

  Run()["metadata"]["deletionTimestamp"] = now_;
  ReconcileToRest();
  EXPECT_THAT(PodNames(), ElementsAre("unrelated"));
  EXPECT_FALSE(fs::exists(evidence::VolumeRunLayout(profiles_, kNs, kRun).dir()));
  EXPECT_THAT(Run()["metadata"]["finalizers"], IsEmpty());
}

TEST_F(ReconcilerTest, TheMemoryHistoryIsReadThroughTheSameInterfaces) {
  // A history that already knows ex/big needs 300 MiB sizes the first plan from it.
  engine::SuiteKey suite = engine::SuiteKeyOf(*api::ParseSpec(NewRun()["spec"]));
  engine::RunPeaks peaks;
  peaks.test_run["ex/big"] = 300 * kMiB;
  ASSERT_TRUE(RecordHistory(objects_, objects_, kNs, suite, peaks, "earlier-run", 20, now_).ok());
  objects_.Put(kGoTestRuns, NewRun());
  Reconcile();
  ListingEnds({"ex/a", "ex/big"});
  Reconcile();
  std::string message;
  for (const Json& c : Status()["conditions"]) {
    if (c["type"] == "Succeeded") message = c["message"];
  }
  EXPECT_THAT(message, HasSubstr("sized from memory history " + HistoryConfigMapName(suite)));
  StatusOr<engine::MemoryHistory> loaded = LoadHistory(objects_, kNs, suite);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
}

}  // namespace
}  // namespace gotestrun::controllers
