#include "cli/local_runner.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/evidence/evidence.h"
#include "base/files.h"
#include "base/timestamps.h"
#include "core/engine/attempt_evidence.h"
#include "core/api/status.h"
#include "core/engine/run_loop.h"
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
  if (t.empty()) return {};  // an empty log (a full disk leaves one) has no tail
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
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

// The agent's last error line in agent.log, for an attempt that ended without its
// result: why (a full disk, a folder it could not write) is otherwise only there.
std::string LastAgentError(const std::string& attempt_dir) {
  StatusOr<std::string> log = ReadFile(attempt_dir + "/agent.log", 4 << 20);
  if (!log.ok()) return {};
  const std::string marker = "[error] ";
  const std::size_t at = log->rfind(marker);
  if (at == std::string::npos) return {};
  std::string line = log->substr(at + marker.size(), log->find('\n', at) - at - marker.size());
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return "the agent said: " + line;
}

// The run loop's world on this machine: the listing and each attempt run on a thread
// of their own, and say when they end; the loop is stepped after each end.
class Runner final : public engine::RunDriver {
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
    // Who runs the folder, so that a run left unfinished by a killed gotestrun can be
    // told from one still running (EndAbandonedRun).
    if (!object_["metadata"]["annotations"].is_object()) object_["metadata"]["annotations"] = json::object();
    object_["metadata"]["annotations"][kOwnerAnnotation] = OwnerOfThisProcess();
  }
  ~Runner() override { JoinAll(); }

  StatusOr<RunEnd> Run();

  std::string Now() override { return Rfc3339Now(); }
  engine::ListingObservation ObserveListing() override;
  Status StartListing() override;
  StatusOr<engine::MemoryHistory> LoadHistory() override;
  std::string HistoryName() override { return history_file_; }
  StatusOr<std::optional<std::vector<engine::Growth>>> RecordHistory(const engine::RunPeaks& peaks) override;
  engine::AttemptObservation ObserveAttempt(const engine::AttemptRecord& attempt) override;
  Status StartAttempt(const policy::ShardPlan& plan) override;
  void OnPlanned(std::size_t packages, const std::vector<policy::ShardPlan>& plans, int sized,
                 const std::string& message) override;
  void OnHistoryNotUsed(const Status& why) override {
    progress_.Note("warning: memory history not used: " + why.message());
  }
  void OnAttemptEnded(const engine::AttemptRecord& attempt, const engine::AttemptFindings&) override {
    progress_.AttemptEnded(attempt);
  }
  void OnDecided(const engine::Step&) override {}
  void OnHistoryNotRecorded(const Status& why) override {
    progress_.Note("warning: memory history not recorded: " + why.message());
  }
  void OnSettled(const engine::Settled& settled) override {
    if (!settled.growth.empty()) progress_.Note(settled.growth);
  }

 private:
  // A process tree of the run (the listing, or a shard attempt) on its thread.
  struct Process {
    std::thread thread;
    std::string started_at;
    std::uint64_t limit = 0;                  // a shard attempt's memory limit
    std::optional<StatusOr<ProcessEnd>> end;  // set by the thread, under mu_
  };

  bool Stopping() const { return abort_.load() || (stop_ && stop_()); }
  Status Prepare();
  // Writes status.yaml when the status changed since it was last written.
  Status Save();
  // A write into the run folder failed (a full disk, a read-only mount): the run cannot
  // keep its record, so it is stopped and failed with the condition reason
  // RunFolderNotWritable, saved where the folder still takes it. Returns the error the
  // caller ends with, naming the folder and what the system said.
  Status StopOnWriteFailure(const engine::RunContext& context, const std::string& what, const Status& failed);
  // Runs `fn` on the process's thread and records its end.
  void Launch(Process& process, std::function<StatusOr<ProcessEnd>()> fn);
  // Waits until a process has ended or a stop is asked for.
  void WaitForChange();
  void JoinAll();
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

  api::RunStatus status_;
  std::optional<json> saved_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool changed_ = false;
  std::optional<Process> listing_;
  std::map<std::pair<int, int>, Process> attempts_;  // by shard and attempt
  std::set<std::pair<int, int>> waiting_;            // planned, waiting for room on the machine
  int launched_ = 0;                                 // attempts started so far
};

Status Runner::Save() {
  json encoded = api::EncodeStatus(status_);
  if (saved_ == encoded) return Status::Ok();
  GTR_RETURN_IF_ERROR(WriteStatusYaml(folder_, encoded));
  saved_ = std::move(encoded);
  return Status::Ok();
}

constexpr char kNotWritableReason[] = "RunFolderNotWritable";

std::string NotWritableMessage(const std::string& dir, const std::string& what, const Status& failed) {
  return "the run folder " + dir + " cannot be written (" + what + ": " + failed.message() +
         "); the run was stopped: free space there or give --out another folder";
}

Status Runner::StopOnWriteFailure(const engine::RunContext& context, const std::string& what, const Status& failed) {
  const std::string message = NotWritableMessage(folder_.dir(), what, failed);
  abort_ = true;
  JoinAll();
  engine::StopRun(context, status_, *this, kNotWritableReason, message);
  // The status is most of what the folder is for: replaced in place if it cannot be
  // replaced atomically (the old file's space is what a full disk has left).
  Status last = WriteStatusYaml(folder_, api::EncodeStatus(status_), /*in_place_if_full=*/true);
  progress_.Finish();
  if (!last.ok()) return UnavailableError(message + "; status.yaml still says what it said before");
  return UnavailableError(message);
}

Status Runner::Prepare() {
  std::error_code ec;
  if (fs::exists(folder_.run_yaml(), ec)) {
    return Status(StatusCode::kAlreadyExists,
                  folder_.dir() + " already holds a run: give another --name or --out, or remove it");
  }
  // Only an empty (or new) folder becomes a run folder: the run writes status.yaml,
  // report.html and junit.xml at its top, over whatever files of those names were there.
  if (fs::is_directory(folder_.dir(), ec)) {
    std::vector<std::string> held;
    std::size_t count = 0;
    for (fs::directory_iterator it(folder_.dir(), ec), end; !ec && it != end; it.increment(ec)) {
      if (++count <= 5) held.push_back(it->path().filename().string());
    }
    if (ec) return UnavailableError("cannot read " + folder_.dir() + ": " + ec.message());
    if (count > 0) {
      std::sort(held.begin(), held.end());
      std::string listed;
      for (const std::string& name : held) listed += (listed.empty() ? "" : ", ") + name;
      if (count > held.size()) listed += " and " + std::to_string(count - held.size()) + " more";
      return Status(StatusCode::kAlreadyExists, folder_.dir() +
                                                    " is not empty and is not a run folder of gotestrun (it holds " +
                                                    listed + "): give --out a new or empty folder");
    }
  } else if (fs::exists(folder_.dir(), ec)) {
    return Status(StatusCode::kAlreadyExists, folder_.dir() + " exists and is not a folder: give --out a folder");
  }
  fs::create_directories(folder_.plan_dir(), ec);
  if (ec) return UnavailableError("cannot make " + folder_.plan_dir() + ": " + ec.message());
  return WriteRunYaml(folder_, object_);
}

void Runner::Launch(Process& process, std::function<StatusOr<ProcessEnd>()> fn) {
  process.started_at = Rfc3339Now();
  process.thread = std::thread([this, &process, fn = std::move(fn)] {
    StatusOr<ProcessEnd> end = fn();
    std::lock_guard<std::mutex> lock(mu_);
    process.end = std::move(end);
    changed_ = true;
    cv_.notify_all();
  });
}

Status Runner::StartListing() {
  if (listing_) return Status::Ok();
  listing_.emplace();
  Launch(*listing_, [this] {
    return executor_.ListPackages(folder_.packages_json(), folder_.list_log(), [this] { return Stopping(); });
  });
  return Status::Ok();
}

engine::ListingObservation Runner::ObserveListing() {
  engine::ListingObservation o;
  if (!listing_) return o;
  std::optional<StatusOr<ProcessEnd>> listed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listed = listing_->end;
  }
  o.state = listed ? engine::Progressing::kEnded : engine::Progressing::kRunning;
  if (!listed) return o;
  if (listing_->thread.joinable()) listing_->thread.join();
  if (!listed->ok()) {
    o.listings = listed->status();
  } else if ((*listed)->end.exit_code.value_or(-1) != 0) {
    o.listings =
        UnavailableError("gotestrun-agent list exited with code " +
                         std::to_string((*listed)->end.exit_code.value_or(-1)) + ": " + Tail(folder_.list_log(), 5));
  } else {
    StatusOr<std::string> text = ReadFileWithin(folder_.dir(), folder_.packages_json(), evidence::kMaxPackagesBytes);
    o.listings = text.ok() ? evidence::DecodePackageListings(*text)
                           : StatusOr<std::vector<evidence::PackageListing>>(text.status());
  }
  return o;
}

StatusOr<engine::MemoryHistory> Runner::LoadHistory() {
  if (!run_.use_history) return engine::MemoryHistory{};
  return LoadHistoryFile(history_file_, suite_);
}

StatusOr<std::optional<std::vector<engine::Growth>>> Runner::RecordHistory(const engine::RunPeaks& peaks) {
  if (!run_.use_history) return std::optional<std::vector<engine::Growth>>();
  StatusOr<std::vector<engine::Growth>> recorded =
      RecordHistoryFile(history_file_, suite_, peaks, object_["metadata"]["uid"].get<std::string>(),
                        run_.spec.growth_threshold_percent, Rfc3339Now());
  if (!recorded.ok()) return recorded.status();
  return std::optional<std::vector<engine::Growth>>(*std::move(recorded));
}

void Runner::OnPlanned(std::size_t packages, const std::vector<policy::ShardPlan>& plans, int sized,
                       const std::string&) {
  progress_.Planned(packages, plans);
  if (sized > 0)
    progress_.Note("sized " + std::to_string(sized) + " packages from the memory history in " + history_file_);
}

Status Runner::StartAttempt(const policy::ShardPlan& plan) {
  if (attempts_.contains({plan.index, plan.attempt})) return Status::Ok();
  // Left unstarted while the machine has no room: the run loop offers it again at its
  // next step, after an attempt ends (machine_budget.h).
  std::vector<std::uint64_t> running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, process] : attempts_) {
      if (!process.end) running.push_back(process.limit);
    }
  }
  if (!MayStart(run_.budget, running, plan.memory)) {
    if (waiting_.insert({plan.index, plan.attempt}).second) {
      progress_.Note(policy::AttemptLabel(plan.index, plan.attempt) + " (" + policy::FormatMemoryQuantity(plan.memory) +
                     ") waits: " + std::to_string(running.size()) + " shard(s) running, within " + run_.budget.source);
    }
    return Status::Ok();
  }
  waiting_.erase({plan.index, plan.attempt});
  ++launched_;
  auto [it, inserted] = attempts_.try_emplace({plan.index, plan.attempt});
  it->second.limit = plan.memory;
  progress_.AttemptStarted(plan, plan.reason);
  const std::string dir = folder_.attempt_dir(plan.index, plan.attempt);
  Launch(it->second, [this, plan, dir] {
    FinishedPackages finished(evidence::AttemptLayout(dir).events(), plan.packages);
    auto on_memory = [&](std::uint64_t bytes) { progress_.Sample(plan.index, plan.attempt, bytes, finished.Poll()); };
    return executor_.RunAttempt(plan, dir, on_memory, [this] { return Stopping(); });
  });
  return Status::Ok();
}

engine::AttemptObservation Runner::ObserveAttempt(const engine::AttemptRecord& a) {
  engine::AttemptObservation o;
  auto it = attempts_.find({a.plan.index, a.plan.attempt});
  if (it == attempts_.end()) return o;
  Process& process = it->second;
  o.started_at = process.started_at;
  std::optional<StatusOr<ProcessEnd>> end;
  {
    std::lock_guard<std::mutex> lock(mu_);
    end = process.end;
  }
  o.state = end ? engine::Progressing::kEnded : engine::Progressing::kRunning;
  if (!end) return o;
  // Its thread has nothing left to do but return.
  if (process.thread.joinable()) process.thread.join();
  o.evidence_dir = folder_.attempt_dir(a.plan.index, a.plan.attempt);
  if (end->ok()) {
    o.end = (*end)->end;
    o.stopped = (*end)->stopped;
    o.note = (*end)->limit_note;
    if ((*end)->end.exit_code.value_or(0) != 0) {
      std::string said = LastAgentError(o.evidence_dir);
      if (!said.empty()) o.note += (o.note.empty() ? "" : "; ") + said;
    }
  } else {
    o.note = "could not start the agent: " + end->status().message();
  }
  return o;
}

void Runner::WaitForChange() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!changed_ && !Stopping()) cv_.wait_for(lock, kPoll);
  changed_ = false;
}

void Runner::JoinAll() {
  if (listing_ && listing_->thread.joinable()) listing_->thread.join();
  for (auto& [key, process] : attempts_) {
    if (process.thread.joinable()) process.thread.join();
  }
}

RunEnd Runner::Finish() {
  progress_.Finish();
  RunEnd end;
  end.run = object_;
  end.run["status"] = api::EncodeStatus(status_);
  end.exit_code = ExitCodeOf(end.run["status"]);
  // The report reads the folder as anyone would, from what was just written.
  StatusOr<report::LoadedRun> loaded = report::LoadRunFolder(folder_.dir());
  Status written = loaded.status();
  if (written.ok()) written = WriteFileAtomic(folder_.report_html(), report::RenderHtmlReport(*loaded));
  if (written.ok()) end.reports.push_back(folder_.report_html());
  if (written.ok()) written = WriteFileAtomic(folder_.junit_xml(), report::RenderJUnit(*loaded));
  if (written.ok()) end.reports.push_back(folder_.junit_xml());
  if (!written.ok()) {
    // The tests ran, but CI would find no report (or an old one): not a success.
    const std::string message = NotWritableMessage(folder_.dir(), "the report", written);
    engine::FailRun(status_, kNotWritableReason, message, kGeneration, Rfc3339Now());
    (void)WriteStatusYaml(folder_, api::EncodeStatus(status_), /*in_place_if_full=*/true);
    end.run["status"] = api::EncodeStatus(status_);
    end.exit_code = kExitFailed;
    progress_.Note("gotestrun: " + message);
  }
  return end;
}

StatusOr<RunEnd> Runner::Run() {
  GTR_RETURN_IF_ERROR(Prepare());
  const engine::RunContext context{run_.name, kGeneration, run_.spec};
  for (;;) {
    if (Stopping()) {
      // Every process tree is stopped (Stopping() is their stop) and has ended.
      abort_ = true;
      JoinAll();
      engine::StopRun(context, status_, *this, kInterruptedReason,
                      "interrupted: stopped by SIGINT or SIGTERM; the attempts that were running were stopped");
      break;
    }
    StatusOr<std::vector<policy::ShardPlan>> to_start = engine::ReconcileRun(context, status_, *this);
    if (!to_start.ok()) {
      // The policy refused its own inputs: a bug, not an outcome. Stop what runs.
      abort_ = true;
      JoinAll();
      engine::FailRun(status_, "InternalError", to_start.status().ToString(), kGeneration, Rfc3339Now());
      break;
    }
    if (Status saved = Save(); !saved.ok()) return StopOnWriteFailure(context, "status.yaml", saved);
    const int launched = launched_;
    for (const policy::ShardPlan& plan : *to_start) GTR_RETURN_IF_ERROR(StartAttempt(plan));
    if (status_.settled()) break;
    // Attempts just started are noted as running by the next step; attempts left
    // waiting for room are offered again once something ends.
    if (launched_ == launched) WaitForChange();
  }
  // Settled with attempts still running cannot happen (the policy settles when none
  // run), but no thread may outlive the run.
  JoinAll();
  if (Status saved = Save(); !saved.ok()) return StopOnWriteFailure(context, "status.yaml", saved);
  return Finish();
}

}  // namespace

StatusOr<RunEnd> RunLocally(const LocalRun& run, AttemptExecutor& executor, Progress& progress,
                            const std::function<bool()>& stop_requested) {
  Runner runner(run, executor, progress, stop_requested);
  return runner.Run();
}

}  // namespace gotestrun::cli
