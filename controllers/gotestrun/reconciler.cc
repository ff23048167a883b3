#include "controllers/gotestrun/reconciler.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "base/files.h"
#include "base/timestamps.h"
#include "controllers/gotestrun/history_store.h"
#include "controllers/gotestrun/run_metrics.h"
#include "core/api/status.h"
#include "core/engine/run_loop.h"
#include "core/evidence/evidence.h"
#include "core/evidence/memory_stall.h"

namespace gotestrun::controllers {
namespace {

using kube::MetaString;

// The key of a shard's OOM kill in kills_seen_ ("<ns>/<run>/s<shard>"); without a
// shard, the prefix of every key of the run.
std::string KillKey(const std::string& ns_name, std::optional<int> shard = std::nullopt) {
  return ns_name + "/s" + (shard ? std::to_string(*shard) : "");
}
std::string KillKey(const std::string& ns, const std::string& name, int shard) {
  return KillKey(ns + "/" + name, shard);
}

bool HasFinalizer(const Json& run) {
  const Json& meta = run["metadata"];
  if (!meta.contains("finalizers") || !meta["finalizers"].is_array()) return false;
  for (const Json& f : meta["finalizers"]) {
    if (f == api::kFinalizer) return true;
  }
  return false;
}

struct PendingEvent {
  std::string type, reason, message;
};

// Seconds the Pod held its memory: from its start to its test container's end, as
// the kubelet reports them; 0 when either is missing.
double SecondsRan(const Json& pod) {
  if (!pod.is_object() || !pod.contains("status") || !pod["status"].is_object()) return 0;
  const Json& status = pod["status"];
  auto started = ParseRfc3339(status.value("startTime", ""));
  std::optional<std::chrono::system_clock::time_point> finished;
  if (status.contains("containerStatuses") && status["containerStatuses"].is_array()) {
    for (const Json& cs : status["containerStatuses"]) {
      if (!cs.is_object() || !cs.contains("state") || !cs["state"].is_object()) continue;
      const Json& state = cs["state"];
      if (state.contains("terminated") && state["terminated"].is_object()) {
        finished = ParseRfc3339(state["terminated"].value("finishedAt", ""));
      }
    }
  }
  if (!started || !finished || *finished < *started) return 0;
  return std::chrono::duration<double>(*finished - *started).count();
}

// The condition a run carries while the profiles volume cannot be written, and how
// often the run looks again: a volume remounted or freed is noticed within seconds,
// not after a backoff grown to minutes.
constexpr char kVolumeCondition[] = "ProfilesVolumeWritable";
constexpr std::chrono::seconds kVolumeRecheck{5};

struct VolumeProblem {
  std::string reason;   // ProfilesVolumeReadOnly, ProfilesVolumeFull, ProfilesVolumeNotWritable
  std::string message;  // what failed, in the system's words
};

// Whether the run's folder on the profiles volume takes a new file: the agent in every
// Pod the run starts writes there, so a Pod started without it would end with no
// evidence and be counted against the run. A folder that exists is not enough (mkdir of
// an existing folder succeeds on a read-only mount, and a full volume still has room
// for folders), so a small file is written and removed.
std::optional<VolumeProblem> ProbeVolume(const std::string& run_dir) {
  auto problem = [&](int err, const std::string& what) {
    const std::string reason = err == EROFS                     ? "ProfilesVolumeReadOnly"
                               : err == ENOSPC || err == EDQUOT ? "ProfilesVolumeFull"
                                                                : "ProfilesVolumeNotWritable";
    return VolumeProblem{reason, "the profiles volume cannot be written: " + what + ": " + std::strerror(err) +
                                     "; no Pod is started until it can"};
  };
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  if (ec) return problem(ec.value(), "create " + run_dir);
  const std::string probe = run_dir + "/.writable";
  ::unlink(probe.c_str());  // whatever a Pod left under the name (O_NOFOLLOW refuses a link)
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return problem(errno, "create " + probe);
  // One page: a volume with less room than that cannot hold any evidence.
  const std::string page(4096, '\n');
  const ssize_t n = ::write(fd, page.data(), page.size());
  const int write_err = n < 0 ? errno : (static_cast<size_t>(n) < page.size() ? ENOSPC : 0);
  const int close_err = ::close(fd) != 0 ? errno : 0;
  ::unlink(probe.c_str());
  if (write_err != 0) return problem(write_err, "write " + probe);
  if (close_err != 0) return problem(close_err, "close " + probe);
  return std::nullopt;
}

// The Pods of one step, created together: each create waits on the API server's write
// to etcd, and a run's ten shards created one after another held a worker ten times
// as long (about a second under load) while other runs' ended Pods waited for it.
// At most kCreatesAtOnce in flight, each on a connection of the client's pool.
Status StartTogether(const std::vector<policy::ShardPlan>& plans, engine::RunDriver& driver) {
  constexpr std::size_t kCreatesAtOnce = 4;
  std::vector<Status> results(plans.size(), Status::Ok());
  if (plans.size() <= 1) {
    for (std::size_t i = 0; i < plans.size(); ++i) results[i] = driver.StartAttempt(plans[i]);
  } else {
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i = next++; i < plans.size(); i = next++) results[i] = driver.StartAttempt(plans[i]);
    };
    std::vector<std::thread> helpers;
    for (std::size_t t = 1; t < std::min(kCreatesAtOnce, plans.size()); ++t) helpers.emplace_back(work);
    work();
    for (std::thread& t : helpers) t.join();
  }
  for (const Status& r : results) {
    if (!r.ok()) return r;  // the rest are retried with the reconcile
  }
  return Status::Ok();
}

}  // namespace

// The run loop's world for one reconcile of one run: the planning Pod and the attempt
// Pods from the cache, evidence from the profiles volume, the memory history
// ConfigMap. Events wait in `events` until the status they speak of is written.
class GoTestRunReconciler::Driver final : public engine::RunDriver {
 public:
  Driver(GoTestRunReconciler& r, const Json& run, const api::GoTestRunSpec& spec, uint64_t reconcile_id)
      : r_(r),
        run_(run),
        spec_(spec),
        ns_(MetaString(run, "namespace")),
        name_(MetaString(run, "name")),
        suite_(engine::SuiteKeyOf(spec)),
        reconcile_id_(reconcile_id) {}

  std::vector<PendingEvent> events;
  // Counted once the status recording these ends is written (run_metrics.h).
  std::vector<AttemptEndMetric> ended;

  std::string Now() override { return r_.Now(); }

  engine::ListingObservation ObserveListing() override {
    engine::ListingObservation o;
    runtime::ObjectPtr pod = r_.Pod(ns_, PlanningPodName(name_));
    if (pod == nullptr) return o;
    o.state = PodFinished(*pod) ? engine::Progressing::kEnded : engine::Progressing::kRunning;
    if (o.state != engine::Progressing::kEnded) return o;
    const evidence::RunLayout layout = evidence::VolumeRunLayout(r_.options_.profiles_dir, ns_, name_);
    StatusOr<std::string> text = ReadFileWithin(layout.dir(), layout.packages(), evidence::kMaxPackagesBytes);
    o.listings = text.ok() ? evidence::DecodePackageListings(*text)
                           : StatusOr<std::vector<evidence::PackageListing>>(text.status());
    return o;
  }

  Status StartListing() override {
    std::error_code ec;
    std::filesystem::create_directories(evidence::VolumeRunLayout(r_.options_.profiles_dir, ns_, name_).plan_dir(), ec);
    auto created = r_.writer_.Create(kube::ResourceType::Pods(), ns_, PlanningPod(run_, spec_, r_.options_.pods));
    if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) return created.status();
    return Status::Ok();
  }

  StatusOr<engine::MemoryHistory> LoadHistory() override { return controllers::LoadHistory(r_.reader_, ns_, suite_); }
  std::string HistoryName() override { return HistoryConfigMapName(suite_); }
  StatusOr<std::optional<std::vector<engine::Growth>>> RecordHistory(const engine::RunPeaks& peaks) override {
    StatusOr<std::vector<engine::Growth>> growth = controllers::RecordHistory(
        r_.reader_, r_.writer_, ns_, suite_, peaks, MetaString(run_, "uid"), spec_.growth_threshold_percent, Now());
    if (!growth.ok()) return growth.status();
    return std::optional<std::vector<engine::Growth>>(*std::move(growth));
  }

  engine::AttemptObservation ObserveAttempt(const engine::AttemptRecord& a) override {
    engine::AttemptObservation o;
    runtime::ObjectPtr pod = r_.Pod(ns_, a.pod);
    if (pod == nullptr) return o;
    if (!PodFinished(*pod)) {
      // A Pod just created has no status yet: operator[] on a const object without the
      // key is undefined, so look before reading.
      const bool running = pod->is_object() && pod->contains("status") && (*pod)["status"].is_object() &&
                           (*pod)["status"].value("phase", "") == "Running";
      o.state = running ? engine::Progressing::kRunning : engine::Progressing::kStarting;
      return o;
    }
    o.state = engine::Progressing::kEnded;
    o.end = ContainerEndOf(*pod);
    o.evidence_dir =
        evidence::VolumeRunLayout(r_.options_.profiles_dir, ns_, name_).attempt_dir(a.plan.index, a.plan.attempt);
    ended_seen_[a.pod] = std::chrono::steady_clock::now();
    seconds_ran_[a.pod] = SecondsRan(*pod);
    return o;
  }

  Status StartAttempt(const policy::ShardPlan& plan) override { return r_.CreateAttemptPod(run_, spec_, plan); }

  void OnPlanned(std::size_t, const std::vector<policy::ShardPlan>&, int, const std::string& message) override {
    events.push_back({"Normal", "Planned", message});
  }

  void OnHistoryNotUsed(const Status& why) override {
    spdlog::warn("gotestrun={}/{}: memory history: {}", ns_, name_, why.ToString());
  }

  void OnAttemptEnded(const engine::AttemptRecord& a, const engine::AttemptFindings& ev) override {
    const auto seen_at = ended_seen_.count(a.pod) ? ended_seen_[a.pod] : std::chrono::steady_clock::now();
    auto read_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - seen_at).count();
    if (read_ms > 200) spdlog::info("gotestrun={}/{} evidence of {} read in {} ms", ns_, name_, a.pod, read_ms);
    AttemptEndMetric metric{a.outcome, "", static_cast<double>(a.plan.memory) * seconds_ran_[a.pod]};
    for (const engine::PackageDiagnosis& d : ev.diagnoses) {
      if (d.package == ev.killed_package || ev.diagnoses.size() == 1) metric.cause = policy::CauseName(d.cause);
    }
    ended.push_back(std::move(metric));
    if (a.outcome == evidence::kMemoryStallOutcome) {
      events.push_back({"Warning", std::string(evidence::kMemoryStallOutcome), a.pod + ": " + ev.message});
      return;
    }
    if (a.outcome != "OOMKilled") return;
    {
      std::lock_guard<std::mutex> lock(r_.kills_mu_);
      r_.kills_seen_.emplace(KillKey(ns_, name_, a.plan.index), seen_at);
    }
    events.push_back({"Warning", "OOMKilled", a.pod + ": " + ev.message});
  }

  void OnDecided(const engine::Step& step) override {
    for (const policy::ShardPlan& p : step.started) {
      events.push_back({"Normal", "Retrying", policy::AttemptName(name_, p.index, p.attempt) + ": " + p.reason});
    }
    spdlog::info("gotestrun={}/{} reconcile={} decided: {} new attempts, {} verdicts, state {}", ns_, name_,
                 reconcile_id_, step.started.size(), step.verdicts.size(), policy::RunStateName(step.state));
  }

  void OnHistoryNotRecorded(const Status& why) override {
    spdlog::warn("gotestrun={}/{}: memory history not recorded: {}", ns_, name_, why.ToString());
    events.push_back({"Warning", "HistoryNotRecorded", why.message()});
  }

  void OnSettled(const engine::Settled& settled) override {
    {
      std::lock_guard<std::mutex> lock(r_.kills_mu_);
      std::erase_if(r_.kills_seen_, [&](const auto& kv) { return kv.first.rfind(KillKey(ns_ + "/" + name_), 0) == 0; });
    }
    if (!settled.growth.empty()) events.push_back({"Warning", "MemoryGrowth", settled.growth});
    bool ok = settled.state == policy::RunState::kSucceeded;
    events.push_back({ok ? "Normal" : "Warning", ok ? "Succeeded" : "Failed", settled.summary});
  }

 private:
  GoTestRunReconciler& r_;
  const Json& run_;
  const api::GoTestRunSpec& spec_;
  const std::string ns_, name_;
  const engine::SuiteKey suite_;
  const uint64_t reconcile_id_;
  std::map<std::string, std::chrono::steady_clock::time_point> ended_seen_;  // by pod
  std::map<std::string, double> seconds_ran_;                                // by pod
};

GoTestRunReconciler::GoTestRunReconciler(ObjectReader& reader, ObjectWriter& writer, StatusWriter& status_writer,
                                         ReconcilerOptions options)
    : reader_(reader), writer_(writer), status_writer_(status_writer), options_(std::move(options)) {}

std::string GoTestRunReconciler::Now() const { return options_.now ? options_.now() : Rfc3339Now(); }

runtime::ObjectPtr GoTestRunReconciler::Pod(const std::string& ns, const std::string& name) {
  StatusOr<runtime::ObjectPtr> pod = reader_.Get(kube::ResourceType::Pods(), ns, name);
  return pod.ok() ? *pod : nullptr;
}

void GoTestRunReconciler::Event(const Json& run, const std::string& type, const std::string& reason,
                                const std::string& message) {
  std::string now = Now();
  Json ev = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"generateName", MetaString(run, "name") + "."}, {"namespace", MetaString(run, "namespace")}}},
      {"involvedObject",
       {{"apiVersion", api::kApiVersion},
        {"kind", api::kKind},
        {"name", MetaString(run, "name")},
        {"namespace", MetaString(run, "namespace")},
        {"uid", MetaString(run, "uid")}}},
      {"type", type},
      {"reason", reason},
      {"message", message.substr(0, 1024)},
      {"firstTimestamp", now},
      {"lastTimestamp", now},
      {"count", 1},
      {"source", {{"component", "gotestrun-operator"}}}};
  events_.Post(MetaString(run, "namespace"), std::move(ev));
}

Status GoTestRunReconciler::WriteStatus(const Json& run, const Json& status) {
  if (run.contains("status") && run["status"] == status) return Status::Ok();  // nothing changed: write nothing
  Json updated = run;
  updated["status"] = status;
  return status_writer_.UpdateStatus(kGoTestRuns, updated).status();
}

Status GoTestRunReconciler::Finalize(const Json& run) {
  const std::string ns = MetaString(run, "namespace"), name = MetaString(run, "name");
  StatusOr<std::vector<runtime::ObjectPtr>> pods = reader_.List(kube::ResourceType::Pods(), ns);
  if (!pods.ok()) return pods.status();
  for (const runtime::ObjectPtr& pod : *pods) {
    if (runtime::ControllerOwnerKey(*pod, api::kKind) != ns + "/" + name) continue;
    Status s = writer_.Delete(kube::ResourceType::Pods(), ns, MetaString(*pod, "name"));
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  std::error_code ec;
  std::filesystem::remove_all(evidence::VolumeRunLayout(options_.profiles_dir, ns, name).dir(), ec);
  if (ec) return UnavailableError("remove the evidence of " + ns + "/" + name + ": " + ec.message());
  Json updated = run;
  Json kept = Json::array();
  for (const Json& f : run["metadata"]["finalizers"]) {
    if (f != api::kFinalizer) kept.push_back(f);
  }
  updated["metadata"]["finalizers"] = kept;
  return writer_.Update(kGoTestRuns, updated).status();
}

Status GoTestRunReconciler::CreateAttemptPod(const Json& run, const api::GoTestRunSpec& spec,
                                             const policy::ShardPlan& plan) {
  const std::string ns = MetaString(run, "namespace"), name = MetaString(run, "name");
  std::error_code ec;
  std::filesystem::create_directories(
      evidence::VolumeRunLayout(options_.profiles_dir, ns, name).attempt_dir(plan.index, plan.attempt), ec);
  auto created = writer_.Create(kube::ResourceType::Pods(), ns, AttemptPod(run, spec, plan, options_.pods));
  if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) return created.status();
  if (created.ok()) {
    std::lock_guard<std::mutex> lock(kills_mu_);
    auto seen = kills_seen_.find(KillKey(ns, name, plan.index));
    if (seen != kills_seen_.end()) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - seen->second);
      spdlog::info("gotestrun={}/{} pod {} created {:.1f} ms after the reconcile that saw the OOM kill before it began",
                   ns, name, policy::AttemptName(name, plan.index, plan.attempt), us.count() / 1000.0);
      kills_seen_.erase(seen);
    }
  }
  return Status::Ok();
}

StatusOr<runtime::ReconcileResult> GoTestRunReconciler::Reconcile(const std::string& key, uint64_t reconcile_id) {
  const std::size_t slash = key.find('/');
  if (slash == std::string::npos) return runtime::ReconcileResult{};
  StatusOr<runtime::ObjectPtr> obj = reader_.Get(kGoTestRuns, key.substr(0, slash), key.substr(slash + 1));
  if (!obj.ok()) {
    if (obj.status().code() == StatusCode::kNotFound) return runtime::ReconcileResult{};
    return obj.status();
  }
  const Json& run = **obj;
  if (!MetaString(run, "deletionTimestamp").empty()) {
    if (HasFinalizer(run)) GTR_RETURN_IF_ERROR(Finalize(run));
    return runtime::ReconcileResult{};
  }
  if (!HasFinalizer(run)) {
    Json fin = run["metadata"].contains("finalizers") && run["metadata"]["finalizers"].is_array()
                   ? run["metadata"]["finalizers"]
                   : Json::array();
    fin.push_back(api::kFinalizer);
    Json updated = run;
    updated["metadata"]["finalizers"] = fin;
    auto r = writer_.Update(kGoTestRuns, updated);
    if (!r.ok()) return r.status();
    return runtime::ReconcileResult{};  // the update comes back as an event
  }
  const int64_t generation = run["metadata"].value("generation", 0);
  api::RunStatus status = api::DecodeStatus(run.contains("status") ? run["status"] : Json());
  if (status.settled()) return runtime::ReconcileResult{};

  StatusOr<api::GoTestRunSpec> spec = api::ParseSpec(run["spec"]);
  if (!spec.ok()) {
    status.observed_generation = generation;
    engine::FailRun(status, "InvalidSpec", spec.status().message(), generation, Now());
    GTR_RETURN_IF_ERROR(WriteStatus(run, api::EncodeStatus(status)));
    Event(run, "Warning", "InvalidSpec", spec.status().message());
    return runtime::ReconcileResult{};
  }

  // Nothing is started or concluded while the volume the evidence lives on cannot be
  // written: the run waits with a condition saying why, and goes on once it can.
  const std::string ns = MetaString(run, "namespace"), name = MetaString(run, "name");
  if (std::optional<VolumeProblem> problem =
          ProbeVolume(evidence::VolumeRunLayout(options_.profiles_dir, ns, name).dir())) {
    const api::Condition* before = status.FindCondition(kVolumeCondition);
    const bool news = before == nullptr || before->status != "False" || before->reason != problem->reason;
    api::SetCondition(status, kVolumeCondition, "False", problem->reason, problem->message, generation, Now());
    status.observed_generation = generation;
    GTR_RETURN_IF_ERROR(WriteStatus(run, api::EncodeStatus(status)));
    if (news) {
      spdlog::warn("gotestrun={}/{} reconcile={}: {}", ns, name, reconcile_id, problem->message);
      Event(run, "Warning", problem->reason, problem->message);
    }
    return runtime::ReconcileResult{.requeue_after = kVolumeRecheck};
  }
  if (const api::Condition* c = status.FindCondition(kVolumeCondition); c != nullptr && c->status != "True") {
    api::SetCondition(status, kVolumeCondition, "True", "ProfilesVolumeWritable", "the profiles volume can be written",
                      generation, Now());
    spdlog::info("gotestrun={}/{} reconcile={}: the profiles volume can be written again", ns, name, reconcile_id);
  }

  Driver driver(*this, run, *spec, reconcile_id);
  StatusOr<std::vector<policy::ShardPlan>> to_start =
      engine::ReconcileRun({MetaString(run, "name"), generation, *spec}, status, driver);
  if (!to_start.ok()) return to_start.status();
  GTR_RETURN_IF_ERROR(WriteStatus(run, api::EncodeStatus(status)));
  for (const AttemptEndMetric& m : driver.ended) CountAttemptEnd(m);
  // The attempts are in status now: start their Pods at once rather than on the event
  // of our own write, and before the Events, which only tell people: a retry after an
  // OOM kill waits for no Event. One that fails is retried with the reconcile.
  Status started = StartTogether(*to_start, driver);
  for (const PendingEvent& e : driver.events) Event(run, e.type, e.reason, e.message);
  if (!started.ok()) return started;
  return runtime::ReconcileResult{};
}

}  // namespace gotestrun::controllers
