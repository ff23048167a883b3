#include "cli/runner.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "core/evidence/evidence.h"
#include "base/files.h"
#include "base/timestamps.h"
#include "core/engine/attempt_evidence.h"
#include "core/engine/step.h"
#include "cli/exit_code.h"
#include "cli/finished_packages.h"
#include "cli/history_file.h"
#include "cli/local_run_folder.h"
#include "core/policy/plan.h"
#include "report/html.h"
#include "report/junit.h"
#include "report/run_folder.h"

namespace gotestrun::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A local run is its own first and only generation.
constexpr std::int64_t kGeneration = 1;
constexpr std::chrono::milliseconds kPoll{100};

// The last lines of a log, for a status message.
std::string Tail(const std::string& path, std::size_t max_lines) {
  StatusOr<std::string> text = ReadFile(path, 16 << 20);
  if (!text.ok()) return {};
  std::string t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  std::size_t pos = t.size();
  for (std::size_t n = 0; n < max_lines && pos != std::string::npos && pos > 0; ++n) pos = t.rfind('\n', pos - 1);
  std::string tail = pos == std::string::npos ? t : t.substr(pos + 1);
  for (char& c : tail) {
    if (c == '\n') c = ' ';
  }
  return tail.size() > 1000 ? tail.substr(tail.size() - 1000) : tail;
}

// A local run's metadata.uid, which the memory history keys a run's peaks by: random,
// in the form the API server gives (RFC 4122 version 4).
std::string NewUid() {
  std::random_device rd;
  unsigned char b[16];
  for (unsigned char& c : b) c = static_cast<unsigned char>(rd() & 0xff);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

class Runner {
 public:
  Runner(const LocalRun& run, AttemptExecutor& executor, Progress& progress, const std::function<bool()>& stop)
      : run_(run),
        object_(run.object),
        folder_(run.run_dir),
        suite_(LocalSuiteKey(run.spec)),
        history_file_(HistoryFile(run.module_dir, suite_)),
        executor_(executor),
        progress_(progress),
        stop_(stop) {
    if (!object_["metadata"].contains("uid")) object_["metadata"]["uid"] = NewUid();
  }

  StatusOr<RunEnd> Run();

 private:
  struct Ended {
    int shard = 0;
    int attempt = 0;
    StatusOr<ProcessEnd> end = ProcessEnd{};
  };

  bool Stopping() const { return abort_.load() || (stop_ && stop_()); }
  Status Save();
  Status Prepare();
  // False when the run ended while planning (nothing to test, planning failed, stopped).
  StatusOr<bool> Plan();
  void StartPending(const std::map<std::pair<int, int>, std::string>& reasons);
  void Start(engine::AttemptRecord& attempt, const std::string& reason);
  engine::AttemptRecord* Find(int shard, int attempt);
  // Waits until at least one attempt has ended or a stop is asked for.
  std::vector<Ended> Wait();
  std::vector<Ended> JoinAll();
  // Reads an ended attempt's evidence into its record (and its diagnoses into the
  // run's, unless the attempt was stopped); its outcome for the policy.
  policy::AttemptOutcome Record(engine::AttemptRecord& a, const Ended& e);
  void Interrupt(std::vector<Ended> ended);
  void Fail(const std::string& reason, const std::string& message);
  // The end the policy decided, after the memory history had its say (growth).
  void Settle(const engine::Step& step);
  RunEnd Finish();

  const LocalRun& run_;
  json object_;  // run_.object with its uid
  const LocalRunLayout folder_;
  const engine::SuiteKey suite_;
  const std::string history_file_;
  AttemptExecutor& executor_;
  Progress& progress_;
  const std::function<bool()>& stop_;
  std::atomic<bool> abort_{false};

  json status_ = json::object();
  engine::RunProgress progress_state_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Ended> ended_;
  std::map<std::pair<int, int>, std::thread> threads_;  // by shard and attempt
};

Status Runner::Save() {
  if (progress_state_.planned) {
    engine::EncodeProgress(progress_state_, status_);
    engine::WriteTotals(progress_state_, status_);
  }
  return WriteStatusYaml(folder_, status_);
}

Status Runner::Prepare() {
  std::error_code ec;
  if (fs::exists(folder_.run_yaml(), ec)) {
    return Status(StatusCode::kAlreadyExists, folder_.dir() + " already holds a run: give another --name or --out, or remove it");
  }
  fs::create_directories(folder_.plan_dir(), ec);
  if (ec) return UnavailableError("cannot make " + folder_.plan_dir() + ": " + ec.message());
  GTR_RETURN_IF_ERROR(WriteRunYaml(folder_, object_));
  status_["observedGeneration"] = kGeneration;
  status_["phase"] = "Planning";
  status_["startTime"] = Rfc3339Now();
  engine::SetCondition(status_, "Succeeded", "Unknown", "Planning", "listing the packages", kGeneration, Rfc3339Now());
  return Save();
}

void Runner::Fail(const std::string& reason, const std::string& message) {
  status_["phase"] = "Failed";
  status_["completionTime"] = Rfc3339Now();
  status_["message"] = message;
  engine::SetCondition(status_, "Succeeded", "False", reason, message, kGeneration, Rfc3339Now());
}

StatusOr<bool> Runner::Plan() {
  StatusOr<ProcessEnd> listed = executor_.ListPackages(folder_.packages_json(), folder_.list_log(), [this] { return Stopping(); });
  if (listed.ok() && listed->stopped) {
    Interrupt({});
    return false;
  }
  std::string problem;
  if (!listed.ok()) {
    problem = listed.status().message();
  } else if (listed->end.exit_code.value_or(-1) != 0) {
    problem = "gotestrun-agent list exited with code " + std::to_string(listed->end.exit_code.value_or(-1)) + ": " +
              Tail(folder_.list_log(), 5);
  }
  StatusOr<std::vector<evidence::PackageListing>> listings = InternalError("no listing");
  if (problem.empty()) {
    StatusOr<std::string> text = ReadFileWithin(folder_.dir(), folder_.packages_json(), evidence::kMaxPackagesBytes);
    listings = text.ok() ? evidence::DecodePackageListings(*text) : StatusOr<std::vector<evidence::PackageListing>>(text.status());
    if (!listings.ok()) problem = listings.status().message();
  }
  if (!problem.empty()) {
    Fail("PlanningFailed", "planning failed: " + problem);
    return false;
  }
  std::vector<std::string> packages = engine::PackagesToTest(*listings);
  if (packages.empty()) {
    engine::WriteNoTests(status_, kGeneration, Rfc3339Now());
    return false;
  }
  // History only makes plans better: without it the run is planned as a first run.
  StatusOr<engine::MemoryHistory> history =
      run_.use_history ? LoadHistoryFile(history_file_, suite_) : StatusOr<engine::MemoryHistory>(engine::MemoryHistory{});
  if (!history.ok()) progress_.Note("warning: memory history not used: " + history.status().message());
  policy::History known = history.ok() ? engine::PlanningHistory(*history) : policy::History{};
  int sized = 0;
  for (const std::string& p : packages) sized += known.packages.contains(p) ? 1 : 0;
  StatusOr<std::vector<policy::ShardPlan>> plans = policy::PlanShards(packages, run_.spec.policy, known);
  if (!plans.ok()) {
    Fail("PlanningFailed", "planning failed: " + plans.status().message());
    return false;
  }
  for (const policy::ShardPlan& p : *plans) engine::AddAttempt(progress_state_, p, run_.name);
  progress_state_.planned = true;
  status_["phase"] = "Running";
  std::string planned = std::to_string(packages.size()) + " packages in " + std::to_string(plans->size()) + " shards";
  if (sized > 0) planned += " (" + std::to_string(sized) + " sized from memory history " + history_file_ + ")";
  engine::SetCondition(status_, "Succeeded", "Unknown", "Running", planned, kGeneration, Rfc3339Now());
  progress_.Planned(packages.size(), *plans);
  if (sized > 0) progress_.Note("sized " + std::to_string(sized) + " packages from the memory history in " + history_file_);
  return true;
}

engine::AttemptRecord* Runner::Find(int shard, int attempt) {
  for (engine::ShardRecord& s : progress_state_.shards) {
    for (engine::AttemptRecord& a : s.attempts) {
      if (a.plan.index == shard && a.plan.attempt == attempt) return &a;
    }
  }
  return nullptr;
}

void Runner::StartPending(const std::map<std::pair<int, int>, std::string>& reasons) {
  for (engine::ShardRecord& s : progress_state_.shards) {
    if (s.attempts.empty() || s.attempts.back().outcome != "Pending") continue;
    auto r = reasons.find({s.attempts.back().plan.index, s.attempts.back().plan.attempt});
    Start(s.attempts.back(), r == reasons.end() ? std::string() : r->second);
  }
}

void Runner::Start(engine::AttemptRecord& a, const std::string& reason) {
  a.outcome = "Running";
  a.start_time = Rfc3339Now();
  progress_.AttemptStarted(a.plan, reason);
  const policy::ShardPlan plan = a.plan;
  const std::string dir = folder_.attempt_dir(plan.index, plan.attempt);
  threads_[{plan.index, plan.attempt}] = std::thread([this, plan, dir] {
    FinishedPackages finished(evidence::AttemptLayout(dir).events(), plan.packages);
    auto on_memory = [&](std::uint64_t bytes) { progress_.Sample(plan.index, plan.attempt, bytes, finished.Poll()); };
    StatusOr<ProcessEnd> end = executor_.RunAttempt(plan, dir, on_memory, [this] { return Stopping(); });
    std::lock_guard<std::mutex> lock(mu_);
    ended_.push_back({plan.index, plan.attempt, std::move(end)});
    cv_.notify_all();
  });
}

std::vector<Runner::Ended> Runner::Wait() {
  std::vector<Ended> ended;
  {
    std::unique_lock<std::mutex> lock(mu_);
    while (ended_.empty() && !Stopping()) cv_.wait_for(lock, kPoll);
    ended = std::exchange(ended_, {});
  }
  // Their threads have nothing left to do but return.
  for (const Ended& e : ended) {
    auto t = threads_.find({e.shard, e.attempt});
    if (t == threads_.end()) continue;
    t->second.join();
    threads_.erase(t);
  }
  return ended;
}

std::vector<Runner::Ended> Runner::JoinAll() {
  for (auto& [key, t] : threads_) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(ended_, {});
}

policy::AttemptOutcome Runner::Record(engine::AttemptRecord& a, const Ended& e) {
  engine::ContainerEnd end;
  std::string note;
  if (e.end.ok()) {
    end = e.end->end;
    note = e.end->limit_note;
  } else {
    note = "could not start the agent: " + e.end.status().message();
  }
  engine::AttemptEvidence ev = engine::ReadAttemptEvidence(folder_.attempt_dir(a.plan.index, a.plan.attempt), a.plan, end);
  engine::RecordEnd(a, ev, Rfc3339Now());
  // A stopped attempt's binaries were killed by the stop, not for memory.
  if (!e.end.ok() || !e.end->stopped) engine::NoteDiagnoses(progress_state_, ev, a.pod);
  if (!note.empty()) a.message += "; " + note;
  return ev.outcome;
}

void Runner::Interrupt(std::vector<Ended> ended) {
  abort_ = true;
  for (Ended& e : JoinAll()) ended.push_back(std::move(e));
  for (const Ended& e : ended) {
    engine::AttemptRecord* a = Find(e.shard, e.attempt);
    if (a == nullptr) continue;
    Record(*a, e);
    // How the stopped attempts ended says nothing about the tests: the stop did it.
    if (e.end.ok() && e.end->stopped) {
      a->outcome = "Failed";
      a->phase.clear();
      a->killed_package.clear();
      a->running_test.clear();
      a->message = "interrupted: the run was stopped";
    }
  }
  // Attempts decided but never started.
  for (engine::ShardRecord& s : progress_state_.shards) {
    for (engine::AttemptRecord& a : s.attempts) {
      if (a.finished()) continue;
      a.outcome = "Failed";
      a.finish_time = Rfc3339Now();
      a.message = "interrupted: the run was stopped";
    }
  }
  Fail(kInterruptedReason, "interrupted: stopped by SIGINT or SIGTERM; the attempts that were running were stopped");
}

// As the operator settles a run (controllers/gotestrun/reconciler.cc): the peaks go
// into the memory history, growth past the threshold is a condition and, with
// memoryGate.failOnGrowth, fails a run that passed.
void Runner::Settle(const engine::Step& step) {
  std::optional<std::vector<engine::Growth>> growth;
  engine::RunPeaks peaks = engine::PeaksOf(progress_state_.log);
  if (run_.use_history && (!peaks.test_run.empty() || !peaks.build.empty())) {
    StatusOr<std::vector<engine::Growth>> recorded =
        RecordHistoryFile(history_file_, suite_, peaks, object_["metadata"]["uid"].get<std::string>(),
                          run_.spec.growth_threshold_percent, Rfc3339Now());
    if (recorded.ok()) {
      growth = *std::move(recorded);
    } else {
      // The run's own result stands; only the next plan is worse for it.
      progress_.Note("warning: memory history not recorded: " + recorded.status().message());
    }
  }
  engine::Settled settled = engine::SettleRun(status_, step.state, step.summary, growth, run_.spec.growth_threshold_percent,
                                              run_.spec.fail_on_growth, kGeneration, Rfc3339Now());
  if (!settled.growth.empty()) progress_.Note(settled.growth);
}

RunEnd Runner::Finish() {
  progress_.Finish();
  RunEnd end;
  end.run = object_;
  end.run["status"] = status_;
  end.exit_code = ExitCodeOf(status_);
  // The report reads the folder as anyone would, from what was just written.
  StatusOr<report::LoadedRun> loaded = report::LoadRunFolder(folder_.dir());
  Status written = loaded.status();
  if (written.ok()) written = WriteFileAtomic(folder_.report_html(), report::RenderHtmlReport(*loaded));
  if (written.ok()) end.reports.push_back(folder_.report_html());
  if (written.ok()) written = WriteFileAtomic(folder_.junit_xml(), report::RenderJUnit(*loaded));
  if (written.ok()) end.reports.push_back(folder_.junit_xml());
  if (!written.ok()) progress_.Note("warning: report not written: " + written.message());
  return end;
}

StatusOr<RunEnd> Runner::Run() {
  GTR_RETURN_IF_ERROR(Prepare());
  StatusOr<bool> planned = Plan();
  if (!planned.ok()) return planned.status();
  if (!*planned) {
    GTR_RETURN_IF_ERROR(Save());
    return Finish();
  }
  StartPending({});
  Status saved = Save();
  while (saved.ok()) {
    std::vector<Ended> ended = Wait();
    if (Stopping()) {
      Interrupt(std::move(ended));
      break;
    }
    std::vector<policy::AttemptOutcome> finished;
    for (const Ended& e : ended) {
      engine::AttemptRecord* a = Find(e.shard, e.attempt);
      if (a == nullptr) continue;
      finished.push_back(Record(*a, e));
      progress_.AttemptEnded(*a);
    }
    StatusOr<engine::Step> step = engine::Advance(run_.spec.policy, run_.name, finished, progress_state_);
    if (!step.ok()) {
      // The policy refused its own inputs: a bug, not an outcome. Stop what runs.
      abort_ = true;
      JoinAll();
      Fail("InternalError", step.status().ToString());
      break;
    }
    engine::NoteActions(progress_state_, *step, run_.name);
    std::map<std::pair<int, int>, std::string> reasons;
    for (const policy::ShardPlan& p : step->started) reasons[{p.index, p.attempt}] = p.reason;
    StartPending(reasons);
    if (step->state != policy::RunState::kRunning) {
      Settle(*step);
      saved = Save();
      break;
    }
    saved = Save();
  }
  if (!saved.ok()) {
    abort_ = true;
    JoinAll();
    progress_.Finish();
    return saved.Annotate("write the status");
  }
  // Settled with attempts still running cannot happen (the policy settles when none
  // run), but no thread may outlive the run.
  JoinAll();
  GTR_RETURN_IF_ERROR(Save());
  return Finish();
}

}  // namespace

StatusOr<RunEnd> RunLocally(const LocalRun& run, AttemptExecutor& executor, Progress& progress,
                            const std::function<bool()>& stop_requested) {
  Runner runner(run, executor, progress, stop_requested);
  return runner.Run();
}

}  // namespace gotestrun::cli
