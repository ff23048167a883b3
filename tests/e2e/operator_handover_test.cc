// The operator losing its process, end to end on the real control plane: the leader of
// two replicas SIGKILLed while an attempt runs and the standby finishing the run; one
// operator SIGKILLed at random moments through several runs and restarted each time;
// two replicas that both reconcile the same runs. Whatever happens to the operator,
// every Pod is created once, no attempt is lost, and every run ends in its right phase.
#include <signal.h>

#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "controllers/gotestrun/pods.h"
#include "tests/e2e/operator_e2e.h"
#include "tests/support/run_status.h"

namespace gotestrun::testing {
namespace {

using kube::Json;

const bool kInstalled = (ClusterEnvironment::Install({.controller_manager = true}), true);

// Every version of every object of a type in a namespace, in the order the API server
// wrote them, from a watch that resumes where it broke off (and lists again when its
// place has expired, so an object may be seen again).
class Follower {
 public:
  Follower(kube::Client& client, kube::ResourceType type, std::string ns, std::function<void(const Json&)> on_object)
      : client_(client), type_(std::move(type)), ns_(std::move(ns)), on_object_(std::move(on_object)) {
    thread_ = std::thread([this] { Follow(); });
  }
  ~Follower() {
    stop_.Stop();
    thread_.join();
  }
  bool following() { return following_.load(); }

 private:
  void Follow() {
    std::string rv;
    while (!stop_.stopped()) {
      if (rv.empty()) {
        auto list = client_.List(type_, ns_);
        if (!list.ok()) {
          stop_.WaitFor(std::chrono::milliseconds(200));
          continue;
        }
        for (const Json& o : list->items) on_object_(o);
        rv = list->resource_version;
        following_ = true;
      }
      Status s = client_.Watch(
          type_, ns_, {.resource_version = rv, .timeout_seconds = 60},
          [&](kube::WatchEvent&& e) {
            if (e.object.contains("metadata")) rv = e.object["metadata"].value("resourceVersion", rv);
            if (e.type == kube::WatchEventType::kAdded || e.type == kube::WatchEventType::kModified)
              on_object_(e.object);
            return true;
          },
          &stop_);
      if (s.code() == StatusCode::kOutOfRange) rv.clear();
    }
  }

  kube::Client& client_;
  const kube::ResourceType type_;
  const std::string ns_;
  const std::function<void(const Json&)> on_object_;
  kube::StopSignal stop_;
  std::atomic<bool> following_{false};
  std::thread thread_;
};

// Every Pod the API server ever created in a namespace, by uid: a name created twice
// shows as two uids under one name.
class PodLedger {
 public:
  PodLedger(kube::Client& client, const std::string& ns)
      : follower_(client, kube::ResourceType::Pods(), ns, [this](const Json& pod) { Record(pod); }) {}

  struct Created {
    std::string name, uid, run, shard, attempt, role;
  };
  std::vector<Created> created() {
    std::lock_guard<std::mutex> lock(mu_);
    return created_;
  }
  bool following() { return follower_.following(); }

 private:
  void Record(const Json& pod) {
    const Json& meta = pod["metadata"];
    std::lock_guard<std::mutex> lock(mu_);
    const std::string uid = meta.value("uid", "");
    if (!uids_.insert(uid).second) return;
    Json labels = meta.contains("labels") ? meta["labels"] : Json::object();
    created_.push_back({meta.value("name", ""), uid, labels.value(controllers::kRunLabel, ""),
                        labels.value(controllers::kShardLabel, ""), labels.value(controllers::kAttemptLabel, ""),
                        labels.value(controllers::kRoleLabel, "")});
  }

  std::mutex mu_;
  std::set<std::string> uids_;
  std::vector<Created> created_;
  Follower follower_;  // last: it calls Record from its thread
};

// Each run's status version after version: a write that loses what an earlier one
// recorded (an attempt, its Pod or its end, a settled phase) is a lost update, even if
// a later reconcile puts it back.
class StatusLedger {
 public:
  StatusLedger(kube::Client& client, const std::string& ns)
      : follower_(client, kGoTestRuns, ns, [this](const Json& run) { Record(run); }) {}

  std::vector<std::string> lost() {
    std::lock_guard<std::mutex> lock(mu_);
    return lost_;
  }
  bool following() { return follower_.following(); }

 private:
  // "s<shard>/a<attempt>" -> pod and outcome.
  static std::map<std::string, std::pair<std::string, std::string>> Attempts(const Json& status) {
    std::map<std::string, std::pair<std::string, std::string>> attempts;
    if (!status.is_object() || !status.contains("shards")) return attempts;
    for (const Json& shard : status["shards"]) {
      for (const Json& a : shard["attempts"]) {
        attempts["s" + std::to_string(shard.value("index", -1)) + "/a" + std::to_string(a.value("attempt", -1))] = {
            a.value("pod", ""), a.value("outcome", "")};
      }
    }
    return attempts;
  }

  // An attempt's outcome only moves forward: Pending, Running, then how it ended.
  static constexpr int kEnded = 3;
  static int Progress(const std::string& outcome) {
    return outcome.empty() ? 0 : outcome == "Pending" ? 1 : outcome == "Running" ? 2 : kEnded;
  }

  void Record(const Json& run) {
    const std::string name = run["metadata"].value("name", "");
    const Json status = run.contains("status") ? run["status"] : Json::object();
    std::lock_guard<std::mutex> lock(mu_);
    auto last = last_.find(name);
    if (last != last_.end()) {
      const std::string rv = run["metadata"].value("resourceVersion", "");
      auto now = Attempts(status);
      for (const auto& [key, was] : Attempts(last->second)) {
        auto is = now.find(key);
        if (is == now.end()) {
          lost_.push_back(name + " rv " + rv + ": " + key + " (" + was.first + ") gone from the status");
        } else if (is->second.first != was.first || Progress(is->second.second) < Progress(was.second) ||
                   (Progress(was.second) == kEnded && is->second.second != was.second)) {
          lost_.push_back(name + " rv " + rv + ": " + key + " was " + was.first + " " + was.second + ", now " +
                          is->second.first + " " + is->second.second);
        }
      }
      const std::string was_phase = last->second.value("phase", ""), phase = status.value("phase", "");
      if ((was_phase == "Succeeded" || was_phase == "Failed") && phase != was_phase) {
        lost_.push_back(name + " rv " + rv + ": phase " + was_phase + " became " + phase);
      }
    }
    last_[name] = status;
  }

  std::mutex mu_;
  std::map<std::string, Json> last_;
  std::vector<std::string> lost_;
  Follower follower_;
};

class OperatorHandover : public OperatorE2e {
 protected:
  void SetUp() override {
    OperatorE2e::SetUp();
    ledger_ = std::make_unique<PodLedger>(*client_, ns_);
    statuses_ = std::make_unique<StatusLedger>(*client_, ns_);
    ASSERT_TRUE(Eventually([&] { return ledger_->following() && statuses_->following(); }));
  }
  void TearDown() override {
    for (auto& [name, replica] : replicas_) replica.Stop();
    ledger_.reset();
    statuses_.reset();
    if (HasFailure()) {
      for (const auto& [name, replica] : replicas_) {
        auto log = ReadFile(work_ + "/" + name + ".log", 64 << 20);
        if (log.ok())
          std::cerr << "---- " << name << " (tail) ----\n" << log->substr(log->size() > 4000 ? log->size() - 4000 : 0);
      }
    }
    OperatorE2e::TearDown();
  }

  // Stops the fixture's operator: the test starts its own.
  void StopFixtureOperator() {
    if (operator_) operator_->Stop();
    operator_.reset();
  }

  void SpawnReplica(const std::string& name, const std::vector<std::string>& extra_args) {
    const int port = FreePort();
    auto op = SpawnOperator(ns_, port, extra_args, name + ".log");
    ASSERT_TRUE(op.ok()) << op.status();
    ports_[name] = port;
    replicas_.erase(name);
    replicas_.emplace(name, std::move(*op));
  }

  // What the runs' statuses and the Pods the API server created must agree on, however
  // the operator was stopped: no Pod name created twice, no shard attempt run by two
  // Pods, every attempt Pod in its run's status, and each shard's attempts numbered
  // 1..n, each with its own Pod.
  void ExpectEveryPodOnceAndNoAttemptLost(const std::map<std::string, Json>& runs) {
    // Pods are created after the status that records them is written: let the last
    // creations the watch has not delivered yet arrive.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    std::map<std::string, std::set<std::string>> uids_by_name;
    std::map<std::string, std::set<std::string>> pods_by_attempt;  // "run/s/a" -> uids
    std::set<std::string> attempt_pods;
    for (const PodLedger::Created& p : ledger_->created()) {
      uids_by_name[p.name].insert(p.uid);
      if (p.role != "test") continue;
      pods_by_attempt[p.run + "/s" + p.shard + "/a" + p.attempt].insert(p.uid);
      attempt_pods.insert(p.name);
    }
    for (const auto& [name, uids] : uids_by_name) EXPECT_EQ(uids.size(), 1u) << "Pod " << name << " created twice";
    for (const auto& [attempt, uids] : pods_by_attempt) EXPECT_EQ(uids.size(), 1u) << attempt << " ran in two Pods";

    std::set<std::string> in_status;
    for (const auto& [run_name, run] : runs) {
      const Json& status = run["status"];
      int attempts = 0;
      int expected_shard = 0;
      for (const Json& shard : status.value("shards", Json::array())) {
        EXPECT_EQ(shard.value("index", -1), expected_shard++) << run_name << ": shards numbered with a gap";
        int expected_attempt = 1;
        for (const Json& a : shard["attempts"]) {
          ++attempts;
          EXPECT_EQ(a.value("attempt", -1), expected_attempt++)
              << run_name << " s" << shard.value("index", -1) << ": attempts numbered with a gap or twice";
          const std::string pod = a.value("pod", "");
          EXPECT_TRUE(in_status.insert(pod).second) << pod << " twice in the status";
          EXPECT_TRUE(attempt_pods.contains(pod)) << pod << " is in the status but was never created";
          EXPECT_FALSE(a.value("outcome", "").empty()) << run_name << ": an attempt left without its end" << a.dump();
        }
      }
      EXPECT_EQ(status.value("attemptCount", -1), attempts) << status.dump(2);
    }
    for (const std::string& pod : attempt_pods) {
      EXPECT_TRUE(in_status.contains(pod)) << pod << " ran but no status has it: an attempt lost";
    }
    for (const std::string& lost : statuses_->lost()) ADD_FAILURE() << "a status write lost an update: " << lost;
  }

  Json Lease(const std::string& name) {
    auto l = client_->Get(kube::ResourceType::Leases(), ns_, name);
    return l.ok() ? *l : Json();
  }
  static std::string Holder(const Json& lease) {
    return lease.is_object() && lease.contains("spec") ? lease["spec"].value("holderIdentity", "") : "";
  }

  // An attempt Pod of `run` running on the test node.
  bool AttemptRunning(const std::string& run) {
    auto pods = client_->List(
        kube::ResourceType::Pods(), ns_,
        {.label_selector = std::string(controllers::kRunLabel) + "=" + run + "," + controllers::kRoleLabel + "=test"});
    if (!pods.ok()) return false;
    for (const Json& p : pods->items) {
      if (p.contains("status") && p["status"].value("phase", "") == "Running") return true;
    }
    return false;
  }

  std::unique_ptr<PodLedger> ledger_;
  std::unique_ptr<StatusLedger> statuses_;
  std::map<std::string, Subprocess> replicas_;
  std::map<std::string, int> ports_;  // each replica's /metrics
};

// Short enough that a handover is quick, long enough that a loaded machine renews in time.
const std::vector<std::string> kShortLease = {
    "--leader-elect", "--lease-duration", "4s",           "--renew-deadline", "3s", "--retry-period",
    "500ms",          "--lease-name",     "gotestrun-e2e"};
constexpr auto kLeaseDuration = std::chrono::seconds(4);

TEST_F(OperatorHandover, LeaderHandover) {
  StopFixtureOperator();
  for (const std::string id : {"replica-a", "replica-b"}) {
    std::vector<std::string> args = kShortLease;
    args.insert(args.end(), {"--lease-namespace", ns_, "--identity", id});
    SpawnReplica(id, args);
  }
  std::string leader;
  ASSERT_TRUE(Eventually([&] { return !(leader = Holder(Lease("gotestrun-e2e"))).empty(); }, std::chrono::seconds(30)));
  const std::string standby = leader == "replica-a" ? "replica-b" : "replica-a";

  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("handover", {"./leak", "./clean/a"}, "256Mi", "1Gi")).ok());
  ASSERT_TRUE(Eventually([&] { return AttemptRunning("handover"); }, std::chrono::minutes(3)));

  auto leads = [&](const std::string& replica) {
    return Sum(Scrape(ports_.at(replica)), "leader_election_master_status");
  };
  EXPECT_TRUE(Eventually([&] { return leads(leader) == 1; }));
  EXPECT_EQ(leads(standby), 0) << "the standby reconciles too";

  replicas_.at(leader).Signal(SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  replicas_.at(leader).Wait();
  // Not ended yet: only the standby can finish it.
  auto now = client_->Get(kGoTestRuns, ns_, "handover");
  ASSERT_TRUE(now.ok()) << now.status();
  const std::string phase_at_kill = (*now)["status"].value("phase", "");
  ASSERT_TRUE(phase_at_kill != "Succeeded" && phase_at_kill != "Failed") << (*now)["status"].dump(2);
  ASSERT_TRUE(Eventually([&] { return Holder(Lease("gotestrun-e2e")) == standby; }, std::chrono::seconds(30)));
  const auto took = std::chrono::steady_clock::now() - killed_at;
  std::cerr << "the standby took the lease " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms after the leader was killed\n";
  // On the standby's own clock: it sees the record unchanged for a lease duration,
  // checking every retry period.
  EXPECT_LE(took, kLeaseDuration + std::chrono::seconds(3));
  EXPECT_TRUE(Eventually([&] { return leads(standby) == 1; }));

  Json run = WaitForEnd("handover");
  ASSERT_EQ(run["status"].value("phase", ""), "Succeeded") << run["status"].dump(2);
  EXPECT_GE(EndedAtTheLimit(run["status"]), 1) << run["status"].dump(2);
  ExpectEveryPodOnceAndNoAttemptLost({{"handover", run}});
}

TEST_F(OperatorHandover, KilledAtRandomMoments) {
  StopFixtureOperator();
  struct Expected {
    std::string name;
    std::vector<std::string> packages;
    std::string memory, max_memory, phase;
  };
  // Created along the way, three in progress at a time, so that the kills land while runs
  // are in progress rather than on an idle operator: on a quick machine the six are
  // done before the twentieth kill, and the list starts again under new names.
  const std::vector<Expected> kinds = {
      {"converges", {"./leak", "./clean/a"}, "256Mi", "1Gi", "Succeeded"},
      {"too-big", {"./largetest"}, "192Mi", "288Mi", "Failed"},
      {"clean", {"./clean/..."}, "256Mi", "1Gi", "Succeeded"},
      {"converges-again", {"./leak"}, "256Mi", "1Gi", "Succeeded"},
      {"clean-again", {"./clean/a", "./clean/b"}, "256Mi", "1Gi", "Succeeded"},
      {"too-big-again", {"./largetest"}, "192Mi", "288Mi", "Failed"},
  };
  std::vector<Expected> workload;
  uint32_t seed = static_cast<uint32_t>(std::random_device{}());
  if (const char* s = std::getenv("GOTESTRUN_KILL_SEED"); s != nullptr) seed = static_cast<uint32_t>(std::stoul(s));
  std::cerr << "kill seed " << seed << " (GOTESTRUN_KILL_SEED=" << seed << " repeats it)\n";
  RecordProperty("kill_seed", std::to_string(seed));
  std::mt19937 random(seed);
  // Long enough for a restarted operator to list, watch and reconcile now and then;
  // short enough to kill it in the middle of that too.
  std::uniform_int_distribution<int> gap_ms(100, 1000);

  auto settled = [&](const std::string& name) {
    auto r = client_->Get(kGoTestRuns, ns_, name);
    if (!r.ok() || !r->contains("status") || !(*r)["status"].is_object()) return false;
    const std::string phase = (*r)["status"].value("phase", "");
    return phase == "Succeeded" || phase == "Failed";
  };
  size_t created = 0;
  auto create_next = [&] {
    Expected e = kinds[created % kinds.size()];
    if (created >= kinds.size()) e.name += "-" + std::to_string(created / kinds.size() + 1);
    ++created;
    workload.push_back(e);
    ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run(e.name, e.packages, e.memory, e.max_memory)).ok());
  };
  int during_runs = 0;
  SpawnReplica("operator-0", {});
  for (int kill = 1; kill <= 20; ++kill) {
    auto in_progress = [&] {
      int n = 0;
      for (size_t i = 0; i < created; ++i) n += settled(workload[i].name) ? 0 : 1;
      return n;
    };
    while (in_progress() < 3) create_next();
    std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms(random)));
    during_runs += in_progress() > 0 ? 1 : 0;
    Subprocess& op = replicas_.at("operator-" + std::to_string(kill - 1));
    op.Signal(SIGKILL);
    op.Wait();
    SpawnReplica("operator-" + std::to_string(kill), {});
  }
  std::cerr << during_runs << " of 20 kills landed while a run was in progress; " << created
            << " runs created by then\n";
  std::map<std::string, Json> ended;
  for (const Expected& e : workload) {
    ended[e.name] = WaitForEnd(e.name);
    EXPECT_EQ(ended[e.name]["status"].value("phase", ""), e.phase) << e.name << ": " << ended[e.name]["status"].dump(2);
  }
  EXPECT_GE(EndedAtTheLimit(ended["converges"]["status"]), 1);
  ExpectEveryPodOnceAndNoAttemptLost(ended);
  // Otherwise the kills tested only restarts of an idle operator.
  EXPECT_GE(during_runs, 10);
}

TEST_F(OperatorHandover, TwoReplicasRaceOnOneStatus) {
  // The fixture's operator and a second one, neither electing a leader: both reconcile
  // every run, and each status write of one races the other's.
  SpawnReplica("second", {"--workers", "4"});
  const std::map<std::string, std::string> phases = {{"converges", "Succeeded"}, {"clean", "Succeeded"}};
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("converges", {"./leak", "./clean/a"}, "256Mi", "1Gi")).ok());
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("clean", {"./clean/..."}, "256Mi", "1Gi")).ok());
  std::map<std::string, Json> ended;
  for (const auto& [name, phase] : phases) {
    ended[name] = WaitForEnd(name);
    EXPECT_EQ(ended[name]["status"].value("phase", ""), phase) << name << ": " << ended[name]["status"].dump(2);
  }
  EXPECT_GE(EndedAtTheLimit(ended["converges"]["status"]), 1);
  ExpectEveryPodOnceAndNoAttemptLost(ended);
  // They did race: a status write of one met the other's and was refused as a
  // conflict (then reconciled again from the newer run), else this test proved nothing.
  int conflicts = 0;
  for (const std::string log : {"operator.log", "second.log"}) {
    auto text = ReadFile(work_ + "/" + log, 64 << 20);
    ASSERT_TRUE(text.ok()) << text.status();
    for (size_t at = text->find("(Conflict)"); at != std::string::npos; at = text->find("(Conflict)", at + 1)) {
      ++conflicts;
    }
  }
  std::cerr << conflicts << " status writes refused as conflicts\n";
  EXPECT_GE(conflicts, 1);
}

}  // namespace
}  // namespace gotestrun::testing
