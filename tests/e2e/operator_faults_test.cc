// The operator under faults of the world it lives in, end to end (operator_e2e.h): the
// real kube-apiserver killed mid-run, etcd compacted so the operator's watches expire,
// the shared profiles volume read-only or full, and an evidence folder planted with
// files no reader should trust. Each time the run ends right, or waits and says why,
// and the operator process is the same one throughout.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <thread>

#include "core/evidence/evidence.h"
#include "tests/e2e/operator_e2e.h"
#include "tests/support/run_status.h"

namespace gotestrun::testing {
namespace {

using kube::ResourceType;

const bool kInstalled = (ClusterEnvironment::Install({.controller_manager = true}), true);

class OperatorFaults : public OperatorE2e {
 protected:
  void TearDown() override {
    // A mount left over the profiles folder would outlive the test.
    if (mounted_) ::umount2(profiles_.c_str(), MNT_DETACH);
    OperatorE2e::TearDown();
  }

  Json Status(const std::string& name) {
    auto r = client_->Get(kGoTestRuns, ns_, name);
    return r.ok() && r->contains("status") && (*r)["status"].is_object() ? (*r)["status"] : Json::object();
  }

  // Waits until an attempt of the run is running (its Pod up, the agent writing).
  bool AttemptRunning(const std::string& name) {
    return Eventually(
        [&] {
          Json s = Status(name);
          if (!s.contains("shards")) return false;
          for (const Json& shard : s["shards"]) {
            for (const Json& a : shard["attempts"]) {
              if (a.value("outcome", "") == "Running") return true;
            }
          }
          return false;
        },
        std::chrono::minutes(3));
  }

  // Every attempt in status has ended and has exactly one Pod, and no other Pod but
  // the planning Pod exists: nothing was started twice or left out of the record.
  void ExpectOnePodPerAttempt(const Json& status) {
    std::set<std::string> attempts;
    int count = 0;
    for (const Json& shard : status["shards"]) {
      for (const Json& a : shard["attempts"]) {
        ++count;
        EXPECT_TRUE(attempts.insert(a.value("pod", "")).second) << "an attempt recorded twice: " << a.dump();
        const std::string outcome = a.value("outcome", "");
        EXPECT_TRUE(outcome == "Succeeded" || outcome == "OOMKilled" || outcome == "MemoryStall") << a.dump();
      }
    }
    EXPECT_EQ(count, status.value("attemptCount", -1)) << status.dump(2);
    auto pods = client_->ListAll(ResourceType::Pods(), ns_);
    ASSERT_TRUE(pods.ok()) << pods.status();
    std::set<std::string> seen;
    int others = 0;
    for (const Json& pod : pods->items) {
      const std::string name = pod["metadata"].value("name", "");
      if (attempts.contains(name)) {
        seen.insert(name);
      } else {
        ++others;
      }
    }
    EXPECT_EQ(seen, attempts) << "every attempt has its Pod";
    EXPECT_EQ(others, 1) << "only the planning Pod besides the attempts'";
  }

  bool Healthy() {
    httplib::Client c("127.0.0.1", metrics_port_);
    auto r = c.Get("/healthz");
    return r && r->status == 200;
  }

  std::string OperatorLog() {
    auto log = ReadFile(work_ + "/operator.log", 64 << 20);
    return log.ok() ? *log : std::string();
  }

  bool mounted_ = false;
};

// A run that is OOM-killed once and converges, kube-apiserver SIGKILLed and started
// again while an attempt runs: the operator's watches and writes fail for a while, and
// the run still ends Succeeded with every attempt recorded once.
TEST_F(OperatorFaults, ApiServerRestartedMidRun) {
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("restart", {"./leak", "./clean/a"}, "256Mi", "1Gi")).ok());
  ASSERT_TRUE(AttemptRunning("restart")) << Status("restart").dump(2);
  const pid_t pid = operator_->pid();
  ASSERT_TRUE(ClusterEnvironment::control_plane().RestartApiServer().ok());
  Json run = WaitForEnd("restart");
  const Json& status = run["status"];
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  EXPECT_GE(EndedAtTheLimit(status), 1) << status.dump(2);
  ExpectOnePodPerAttempt(status);
  EXPECT_TRUE(operator_->running());
  EXPECT_EQ(operator_->pid(), pid);
  EXPECT_NE(OperatorLog().find("broke"), std::string::npos) << "the operator never saw its watches cut";
}

// etcd compacted and kube-apiserver restarted: every resourceVersion the operator holds
// is gone (410 Expired). Its watches list again, and the run ends as it would have.
TEST_F(OperatorFaults, EtcdCompactedWatchesGet410) {
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("compact", {"./leak", "./clean/a"}, "256Mi", "1Gi")).ok());
  ASSERT_TRUE(AttemptRunning("compact")) << Status("compact").dump(2);
  ASSERT_TRUE(ClusterEnvironment::control_plane().CompactEtcd().ok());
  ASSERT_TRUE(ClusterEnvironment::control_plane().RestartApiServer().ok());
  Json run = WaitForEnd("compact");
  const Json& status = run["status"];
  ASSERT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  EXPECT_GE(EndedAtTheLimit(status), 1) << status.dump(2);
  ExpectOnePodPerAttempt(status);
  EXPECT_TRUE(operator_->running());
  // The proof that the fault happened: a watch expired and was listed again.
  EXPECT_NE(OperatorLog().find("expired; listing again"), std::string::npos) << "no watch got 410 Expired";
}

class VolumeFaults : public OperatorFaults {
 protected:
  // The run waits while the volume cannot be written (a condition that says why, no Pod
  // started, the operator alive and healthy), and runs to its end once it can.
  void ExpectWaitsThenRuns(const std::string& name, const std::string& reason, const std::string& words) {
    const pid_t pid = operator_->pid();
    Json cond;
    ASSERT_TRUE(Eventually(
        [&] {
          Json s = Status(name);
          if (!s.contains("conditions")) return false;
          for (const Json& c : s["conditions"]) {
            if (c.value("type", "") == "ProfilesVolumeWritable" && c.value("status", "") == "False") cond = c;
          }
          return cond.is_object();
        },
        std::chrono::minutes(1)))
        << Status(name).dump(2);
    EXPECT_EQ(cond.value("reason", ""), reason) << cond.dump();
    EXPECT_NE(cond.value("message", "").find(words), std::string::npos) << cond.dump();
    // A while later: still waiting, nothing started, the same operator healthy.
    std::this_thread::sleep_for(std::chrono::seconds(8));
    auto pods = client_->ListAll(ResourceType::Pods(), ns_);
    ASSERT_TRUE(pods.ok());
    EXPECT_TRUE(pods->items.empty()) << "a Pod started on a volume it cannot write";
    EXPECT_TRUE(operator_->running());
    EXPECT_EQ(operator_->pid(), pid);
    EXPECT_TRUE(Healthy());
    EXPECT_TRUE(HasCondition(client_->Get(kGoTestRuns, ns_, name).value(), "ProfilesVolumeWritable", "False"));

    ASSERT_EQ(::umount2(profiles_.c_str(), 0), 0) << std::strerror(errno);
    mounted_ = false;
    Json run = WaitForEnd(name);
    EXPECT_EQ(run["status"].value("phase", ""), "Succeeded") << run["status"].dump(2);
    EXPECT_TRUE(HasCondition(run, "ProfilesVolumeWritable", "True")) << run["status"].dump(2);
    EXPECT_EQ(operator_->pid(), pid);
  }
};

TEST_F(VolumeFaults, SharedVolumeReadOnly) {
  // We are root: a mode bit would not stop us, a read-only mount does.
  ASSERT_EQ(::mount(profiles_.c_str(), profiles_.c_str(), nullptr, MS_BIND, nullptr), 0) << std::strerror(errno);
  mounted_ = true;
  ASSERT_EQ(::mount(nullptr, profiles_.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("readonly", {"./clean/a"}, "256Mi", "512Mi")).ok());
  ExpectWaitsThenRuns("readonly", "ProfilesVolumeReadOnly", "Read-only file system");
}

TEST_F(VolumeFaults, SharedVolumeFull) {
  ASSERT_EQ(::mount("tmpfs", profiles_.c_str(), "tmpfs", 0, "size=64k"), 0) << std::strerror(errno);
  mounted_ = true;
  // Filled to the last block.
  const int fd = ::open((profiles_ + "/filler").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  const std::string block(4096, 'x');
  while (::write(fd, block.data(), block.size()) > 0) {
  }
  ::close(fd);
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("full", {"./clean/a"}, "256Mi", "512Mi")).ok());
  ExpectWaitsThenRuns("full", "ProfilesVolumeFull", "No space left on device");
}

// The volume turns read-only while an attempt runs: the agent cannot write its result,
// the run waits with the condition (its attempt's end not judged on evidence it could
// not write), and once the volume is back the run ends Succeeded: the lost attempt's
// packages are judged on the test stream it had open, or run again, never failed for it.
TEST_F(VolumeFaults, SharedVolumeReadOnlyWhileRunning) {
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("midrun", {"./leak", "./clean/a"}, "640Mi", "1Gi")).ok());
  ASSERT_TRUE(AttemptRunning("midrun")) << Status("midrun").dump(2);
  ASSERT_EQ(::mount(profiles_.c_str(), profiles_.c_str(), nullptr, MS_BIND, nullptr), 0) << std::strerror(errno);
  mounted_ = true;
  ASSERT_EQ(::mount(nullptr, profiles_.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);
  const pid_t pid = operator_->pid();
  ASSERT_TRUE(Eventually(
      [&] { return HasCondition(client_->Get(kGoTestRuns, ns_, "midrun").value(), "ProfilesVolumeWritable", "False"); },
      std::chrono::minutes(2)))
      << Status("midrun").dump(2);
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_TRUE(operator_->running());
  EXPECT_TRUE(Healthy());
  ASSERT_EQ(::umount2(profiles_.c_str(), 0), 0) << std::strerror(errno);
  mounted_ = false;
  Json run = WaitForEnd("midrun");
  EXPECT_EQ(run["status"].value("phase", ""), "Succeeded") << run["status"].dump(2);
  EXPECT_TRUE(HasCondition(run, "ProfilesVolumeWritable", "True")) << run["status"].dump(2);
  EXPECT_EQ(operator_->pid(), pid);
  // The attempt running at the remount could not write its result: its packages passed
  // on the evidence of the test stream it had open, or were run again.
  EXPECT_NE(run["status"]["shards"][0]["attempts"][0].value("message", "").find("without a result"), std::string::npos)
      << run["status"].dump(2);
  for (const Json& p : run["status"]["packages"]) EXPECT_EQ(p.value("outcome", ""), "Succeeded") << p.dump();
  EXPECT_EQ(run["status"]["packages"].size(), 2u) << run["status"].dump(2);
}

// While an attempt runs, its evidence files are replaced: memory.tsv by a FIFO (a
// blocking read would hang a worker), build.jsonl by a link out of the folder, and
// events.jsonl by a file over its cap. The operator reads none of them, goes on with
// another run meanwhile, ends this one, and its status names what was left out and why.
TEST_F(OperatorFaults, EvidencePlantedWithFifosLinksAndHugeFiles) {
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("planted", {"./leak", "./clean/a"}, "640Mi", "1Gi")).ok());
  const std::string dir = profiles_ + "/" + ns_ + "/planted/s0/a1";
  ASSERT_TRUE(Eventually([&] { return e2e_fs::exists(dir + "/memory.tsv") && e2e_fs::exists(dir + "/events.jsonl"); },
                         std::chrono::minutes(3)))
      << Status("planted").dump(2);
  const std::string outside = work_ + "/outside-build.jsonl";
  ASSERT_TRUE(WriteFileAtomic(outside, "{}\n").ok());
  // The agent and go test keep writing to the files they have open; the names now
  // lead elsewhere.
  ASSERT_EQ(::unlink((dir + "/memory.tsv").c_str()), 0);
  ASSERT_EQ(::mkfifo((dir + "/memory.tsv").c_str(), 0644), 0) << std::strerror(errno);
  ::unlink((dir + "/build.jsonl").c_str());
  ASSERT_EQ(::symlink(outside.c_str(), (dir + "/build.jsonl").c_str()), 0) << std::strerror(errno);
  ASSERT_EQ(::unlink((dir + "/events.jsonl").c_str()), 0);
  const int fd = ::open((dir + "/events.jsonl").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(evidence::kMaxEventsBytes) + 1), 0);  // sparse: no disk used
  ::close(fd);
  ASSERT_FALSE(e2e_fs::exists(dir + "/result.json")) << "the attempt ended before the files were planted";

  // Another run goes through meanwhile: no worker is stuck on the planted files.
  ASSERT_TRUE(client_->Create(kGoTestRuns, ns_, Run("beside", {"./clean/b"}, "256Mi", "512Mi")).ok());
  EXPECT_EQ(WaitForEnd("beside")["status"].value("phase", ""), "Succeeded");

  Json run = WaitForEnd("planted");
  const Json& status = run["status"];
  EXPECT_EQ(status.value("phase", ""), "Succeeded") << status.dump(2);
  ASSERT_TRUE(status.contains("shards")) << status.dump(2);
  const std::string message = status["shards"][0]["attempts"][0].value("message", "");
  EXPECT_NE(message.find("evidence left out"), std::string::npos) << message;
  EXPECT_NE(message.find("memory.tsv: it is a FIFO"), std::string::npos) << message;
  EXPECT_NE(message.find("build.jsonl: it is a symbolic link"), std::string::npos) << message;
  EXPECT_NE(message.find("events.jsonl: " + std::to_string(evidence::kMaxEventsBytes + 1) + " bytes, over its cap"),
            std::string::npos)
      << message;
  EXPECT_TRUE(operator_->running());
  EXPECT_TRUE(Healthy());
}

}  // namespace
}  // namespace gotestrun::testing
