#include "controllers/gotestrun/reconciler.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>

#include "core/evidence/evidence.h"
#include "base/files.h"
#include "base/timestamps.h"
#include "controllers/gotestrun/history_store.h"
#include "core/engine/attempt_evidence.h"
#include "core/engine/step.h"
#include "core/policy/quantity.h"

namespace gotestrun::controllers {
namespace {

// The key of a shard's OOM kill in kills_seen_ ("<ns>/<run>/s<shard>"); without a
// shard, the prefix of every key of the run.
std::string KillKey(const std::string& ns_name, std::optional<int> shard = std::nullopt) {
  return ns_name + "/s" + (shard ? std::to_string(*shard) : "");
}
std::string KillKey(const std::string& ns, const std::string& name, int shard) { return KillKey(ns + "/" + name, shard); }

using engine::AddAttempt;
using engine::RunProgress;

void SetCondition(Json& status, const std::string& type, const std::string& value, const std::string& reason,
                  const std::string& message, int64_t generation) {
  engine::SetCondition(status, type, value, reason, message, generation, Rfc3339Now());
}

using kube::MetaString;

std::string Str(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

bool HasFinalizer(const Json& run) {
  const Json& meta = run["metadata"];
  if (!meta.contains("finalizers") || !meta["finalizers"].is_array()) return false;
  for (const Json& f : meta["finalizers"]) {
    if (f == api::kFinalizer) return true;
  }
  return false;
}

}  // namespace

GoTestRunReconciler::GoTestRunReconciler(kube::Client& client, const runtime::Informer& runs,
                                         const runtime::Informer& pods, ReconcilerOptions options)
    : client_(client), runs_(runs), pods_(pods), options_(std::move(options)) {}

runtime::ObjectPtr GoTestRunReconciler::Pod(const std::string& ns, const std::string& name) const {
  return pods_.store().Get(ns + "/" + name);
}

void GoTestRunReconciler::Event(const Json& run, const std::string& type, const std::string& reason,
                                const std::string& message) {
  std::string now = Rfc3339Now();
  Json ev = {{"apiVersion", "v1"},
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
  auto r = client_.Create(kube::ResourceType::Events(), MetaString(run, "namespace"), ev);
  if (!r.ok()) spdlog::warn("event {} for {}: {}", reason, kube::ObjectKey(run), r.status().ToString());
}

Status GoTestRunReconciler::WriteStatus(const Json& run, Json status) {
  if (run.contains("status") && run["status"] == status) return Status::Ok();  // settled: write nothing
  Json updated = run;
  updated["status"] = std::move(status);
  auto r = client_.UpdateStatus(kGoTestRuns, updated);
  return r.status();
}

Status GoTestRunReconciler::Finalize(const Json& run) {
  const std::string ns = MetaString(run, "namespace"), name = MetaString(run, "name");
  for (const runtime::ObjectPtr& pod : pods_.store().List()) {
    if (MetaString(*pod, "namespace") != ns || runtime::ControllerOwnerKey(*pod, api::kKind) != ns + "/" + name) continue;
    Status s = client_.Delete(kube::ResourceType::Pods(), ns, MetaString(*pod, "name"));
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
  return client_.Update(kGoTestRuns, updated).status();
}

StatusOr<bool> GoTestRunReconciler::Plan(const Json& run, const api::GoTestRunSpec& spec, RunProgress& progress,
                                         Json& status) {
  const std::string ns = MetaString(run, "namespace"), name = MetaString(run, "name");
  runtime::ObjectPtr pod = Pod(ns, PlanningPodName(name));
  if (pod == nullptr) {
    std::error_code ec;
    std::filesystem::create_directories(evidence::VolumeRunLayout(options_.profiles_dir, ns, name).plan_dir(), ec);
    auto created = client_.Create(kube::ResourceType::Pods(), ns, PlanningPod(run, spec, options_.pods));
    if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) return created.status();
    status["phase"] = "Planning";
    if (Str(status, "startTime").empty()) status["startTime"] = Rfc3339Now();
    SetCondition(status, "Succeeded", "Unknown", "Planning", "listing the packages", run["metadata"].value("generation", 0));
    return false;
  }
  if (!PodFinished(*pod)) return false;
  const evidence::RunLayout run_layout = evidence::VolumeRunLayout(options_.profiles_dir, ns, name);
  StatusOr<std::string> text = ReadFileWithin(run_layout.dir(), run_layout.packages(), evidence::kMaxPackagesBytes);
  StatusOr<std::vector<evidence::PackageListing>> listings =
      text.ok() ? evidence::DecodePackageListings(*text) : StatusOr<std::vector<evidence::PackageListing>>(text.status());
  if (!listings.ok()) {
    status["phase"] = "Failed";
    status["completionTime"] = Rfc3339Now();
    status["message"] = "planning failed: " + listings.status().message();
    SetCondition(status, "Succeeded", "False", "PlanningFailed", status["message"], run["metadata"].value("generation", 0));
    return false;
  }
  std::vector<std::string> packages = engine::PackagesToTest(*listings);
  if (packages.empty()) {
    engine::WriteNoTests(status, run["metadata"].value("generation", 0), Rfc3339Now());
    return false;
  }
  // History only makes plans better: without it (an API error) the run is planned as
  // a first run would be.
  engine::SuiteKey suite = engine::SuiteKeyOf(spec);
  StatusOr<engine::MemoryHistory> history = LoadHistory(client_, ns, suite);
  if (!history.ok()) spdlog::warn("gotestrun={}/{}: memory history: {}", ns, name, history.status().ToString());
  policy::History known = history.ok() ? engine::PlanningHistory(*history) : policy::History{};
  int sized = 0;
  for (const std::string& p : packages) sized += known.packages.contains(p) ? 1 : 0;
  auto plans = policy::PlanShards(packages, spec.policy, known);
  if (!plans.ok()) return plans.status();
  for (const policy::ShardPlan& p : *plans) AddAttempt(progress, p, name);
  progress.planned = true;
  status["phase"] = "Running";
  std::string planned = std::to_string(packages.size()) + " packages in " + std::to_string(plans->size()) + " shards";
  if (sized > 0) planned += " (" + std::to_string(sized) + " sized from memory history " + HistoryConfigMapName(suite) + ")";
  SetCondition(status, "Succeeded", "Unknown", "Running", planned, run["metadata"].value("generation", 0));
  return true;
}

StatusOr<std::vector<policy::AttemptOutcome>> GoTestRunReconciler::Observe(const Json& run,
                                                                           const api::GoTestRunSpec& spec,
                                                                           RunProgress& progress, Json& status) {
  const std::string ns = MetaString(run, "namespace"), name = MetaString(run, "name");
  std::vector<policy::AttemptOutcome> finished;
  for (engine::ShardRecord& shard : progress.shards) {
    engine::AttemptRecord& a = shard.attempts.back();
    if (a.finished()) continue;
    runtime::ObjectPtr pod = Pod(ns, a.pod);
    if (pod == nullptr) {
      GTR_RETURN_IF_ERROR(CreateAttemptPod(run, spec, a));
      continue;
    }
    if (!PodFinished(*pod)) {
      if (Str((*pod)["status"], "phase") == "Running" && a.outcome != "Running") {
        a.outcome = "Running";
        a.start_time = Rfc3339Now();
      }
      continue;
    }
    const auto seen_at = std::chrono::steady_clock::now();
    engine::AttemptEvidence ev = engine::ReadAttemptEvidence(
        evidence::VolumeRunLayout(options_.profiles_dir, ns, name).attempt_dir(a.plan.index, a.plan.attempt), a.plan, ContainerEndOf(*pod));
    auto read_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - seen_at).count();
    if (read_ms > 200) spdlog::info("gotestrun={}/{} evidence of {} read in {} ms", ns, name, a.pod, read_ms);
    engine::RecordEnd(a, ev, Rfc3339Now());
    engine::NoteDiagnoses(progress, ev, a.pod);
    if (a.outcome == "OOMKilled") {
      {
        std::lock_guard<std::mutex> lock(kills_mu_);
        kills_seen_.emplace(KillKey(ns, name, a.plan.index), seen_at);
      }
      Event(run, "Warning", "OOMKilled", a.pod + ": " + ev.message);
    }
    finished.push_back(std::move(ev.outcome));
  }
  (void)status;
  return finished;
}

std::optional<std::vector<engine::Growth>> GoTestRunReconciler::RememberPeaks(const Json& run,
                                                                              const api::GoTestRunSpec& spec,
                                                                              const RunProgress& progress) {
  engine::RunPeaks peaks = engine::PeaksOf(progress.log);
  if (peaks.test_run.empty() && peaks.build.empty()) return std::nullopt;
  StatusOr<std::vector<engine::Growth>> growth =
      RecordHistory(client_, MetaString(run, "namespace"), engine::SuiteKeyOf(spec), peaks, MetaString(run, "uid"),
                    spec.growth_threshold_percent, Rfc3339Now());
  if (growth.ok()) return *std::move(growth);
  // The run's own result stands; only the next plan is worse for it.
  spdlog::warn("gotestrun={}: memory history not recorded: {}", kube::ObjectKey(run), growth.status().ToString());
  Event(run, "Warning", "HistoryNotRecorded", growth.status().message());
  return std::nullopt;
}

Status GoTestRunReconciler::CreateAttemptPod(const Json& run, const api::GoTestRunSpec& spec,
                                             const engine::AttemptRecord& a) {
  const std::string ns = MetaString(run, "namespace"), name = MetaString(run, "name");
  std::error_code ec;
  std::filesystem::create_directories(evidence::VolumeRunLayout(options_.profiles_dir, ns, name).attempt_dir(a.plan.index, a.plan.attempt), ec);
  auto created = client_.Create(kube::ResourceType::Pods(), ns, AttemptPod(run, spec, a.plan, options_.pods));
  if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) return created.status();
  if (created.ok()) {
    std::lock_guard<std::mutex> lock(kills_mu_);
    auto seen = kills_seen_.find(KillKey(ns, name, a.plan.index));
    if (seen != kills_seen_.end()) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - seen->second);
      spdlog::info("gotestrun={}/{} pod {} created {:.1f} ms after the reconcile that saw the OOM kill before it began", ns,
                   name, a.pod, us.count() / 1000.0);
      kills_seen_.erase(seen);
    }
  }
  return Status::Ok();
}

StatusOr<runtime::ReconcileResult> GoTestRunReconciler::Reconcile(const std::string& key, uint64_t reconcile_id) {
  runtime::ObjectPtr obj = runs_.store().Get(key);
  if (obj == nullptr) return runtime::ReconcileResult{};
  const Json& run = *obj;
  if (!MetaString(run, "deletionTimestamp").empty()) {
    if (HasFinalizer(run)) GTR_RETURN_IF_ERROR(Finalize(run));
    return runtime::ReconcileResult{};
  }
  if (!HasFinalizer(run)) {
    Json fin = run["metadata"].contains("finalizers") && run["metadata"]["finalizers"].is_array() ? run["metadata"]["finalizers"] : Json::array();
    fin.push_back(api::kFinalizer);
    Json updated = run;
    updated["metadata"]["finalizers"] = fin;
    auto r = client_.Update(kGoTestRuns, updated);
    if (!r.ok()) return r.status();
    return runtime::ReconcileResult{};  // the update comes back as an event
  }
  const int64_t generation = run["metadata"].value("generation", 0);
  Json status = run.contains("status") && run["status"].is_object() ? run["status"] : Json::object();
  std::string phase = Str(status, "phase");
  if (phase == "Succeeded" || phase == "Failed") return runtime::ReconcileResult{};
  status["observedGeneration"] = generation;

  StatusOr<api::GoTestRunSpec> spec = api::ParseSpec(run["spec"]);
  if (!spec.ok()) {
    status["phase"] = "Failed";
    status["message"] = spec.status().message();
    status["completionTime"] = Rfc3339Now();
    SetCondition(status, "Succeeded", "False", "InvalidSpec", spec.status().message(), generation);
    GTR_RETURN_IF_ERROR(WriteStatus(run, status));
    Event(run, "Warning", "InvalidSpec", spec.status().message());
    return runtime::ReconcileResult{};
  }

  RunProgress progress = engine::DecodeProgress(status);
  if (!progress.planned) {
    StatusOr<bool> planned = Plan(run, *spec, progress, status);
    if (!planned.ok()) return planned.status();
    if (*planned) {
      engine::EncodeProgress(progress, status);
      engine::WriteTotals(progress, status);
    }
    GTR_RETURN_IF_ERROR(WriteStatus(run, status));
    if (*planned) Event(run, "Normal", "Planned", Str(status["conditions"].back(), "message"));
    return runtime::ReconcileResult{};
  }

  StatusOr<std::vector<policy::AttemptOutcome>> finished = Observe(run, *spec, progress, status);
  if (!finished.ok()) return finished.status();
  if (!finished->empty()) {
    StatusOr<engine::Step> step = engine::Advance(spec->policy, MetaString(run, "name"), *finished, progress);
    if (!step.ok()) return step.status();
    engine::NoteActions(progress, *step, MetaString(run, "name"));
    for (const policy::ShardPlan& p : step->started) {
      Event(run, "Normal", "Retrying", policy::AttemptName(MetaString(run, "name"), p.index, p.attempt) + ": " + p.reason);
    }
    if (step->state != policy::RunState::kRunning) {
      std::optional<std::vector<engine::Growth>> growth = RememberPeaks(run, *spec, progress);
      {
        std::lock_guard<std::mutex> lock(kills_mu_);
        std::erase_if(kills_seen_, [&](const auto& kv) { return kv.first.rfind(KillKey(key), 0) == 0; });
      }
      engine::Settled settled = engine::SettleRun(status, step->state, step->summary, growth, spec->growth_threshold_percent,
                                                  spec->fail_on_growth, generation, Rfc3339Now());
      if (!settled.growth.empty()) Event(run, "Warning", "MemoryGrowth", settled.growth);
      bool ok = settled.state == policy::RunState::kSucceeded;
      Event(run, ok ? "Normal" : "Warning", ok ? "Succeeded" : "Failed", settled.summary);
    }
    spdlog::info("gotestrun={} reconcile={} decided: {} new attempts, {} verdicts, state {}", key, reconcile_id,
                 step->started.size(), step->verdicts.size(), policy::RunStateName(step->state));
  }
  engine::EncodeProgress(progress, status);
  engine::WriteTotals(progress, status);
  GTR_RETURN_IF_ERROR(WriteStatus(run, status));
  // The attempts just decided are in status now: start their Pods at once rather than
  // on the event of our own write (a Pod that fails here is made by the next reconcile).
  if (!finished->empty()) {
    for (const engine::ShardRecord& shard : progress.shards) {
      const engine::AttemptRecord& a = shard.attempts.back();
      if (a.finished() || Pod(MetaString(run, "namespace"), a.pod) != nullptr) continue;
      if (Status s = CreateAttemptPod(run, *spec, a); !s.ok()) spdlog::warn("pod {}: {}", a.pod, s.ToString());
    }
  }
  return runtime::ReconcileResult{};
}

}  // namespace gotestrun::controllers
