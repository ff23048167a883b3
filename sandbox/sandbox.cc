#include "sandbox/sandbox.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/timestamps.h"
#include "sandbox/memory_pressure.h"
#include "sandbox/memory_stall.h"
#include "sandbox/process_tree.h"

namespace gotestrun::sandbox {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// How often the run looks at the process, its memory and the stop hook.
constexpr milliseconds kTick{50};
// The stall watch's samples: the agent's rate, enough to see a thrash that lasts seconds.
constexpr milliseconds kStallSampleInterval{200};

std::string Mib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

void AddNote(std::string& notes, std::string_view note) {
  if (!notes.empty()) notes += "; ";
  notes += note;
}

// Where the limit is enforced for one run: a cgroup of its own, or the RSS watch.
class Enforcer {
 public:
  Enforcer(std::optional<MemoryCgroup> cgroup, std::string proc_root)
      : cgroup_(std::move(cgroup)), proc_root_(std::move(proc_root)) {}

  void Attach(pid_t root) { tree_.emplace(root, proc_root_); }
  bool has_cgroup() const { return cgroup_.has_value(); }
  MemoryCgroup& cgroup() { return *cgroup_; }

  std::optional<std::uint64_t> Usage() {
    if (!cgroup_) return tree_->RssBytes();
    StatusOr<std::uint64_t> usage = cgroup_->Usage();
    if (!usage.ok()) return std::nullopt;
    return *usage;
  }
  void Signal(int sig) {
    if (cgroup_) {
      (void)cgroup_->Signal(sig);
    } else {
      tree_->Signal(sig);
    }
  }
  Status KillAll() { return cgroup_ ? cgroup_->Kill() : tree_->Kill(); }

 private:
  std::optional<MemoryCgroup> cgroup_;
  std::string proc_root_;
  std::optional<ProcessTree> tree_;
};

// RunOptions::private_tmp's folder, removed with everything in it when the run ends.
class PrivateTmp {
 public:
  explicit PrivateTmp(const RunOptions& options) {
    if (!options.private_tmp) return;
    for (const std::string& e : options.env) {
      if (e.starts_with("TMPDIR=")) return;  // the caller's choice stands
    }
    std::error_code ec;
    std::string dir = (std::filesystem::temp_directory_path(ec) / MemoryCgroup::UniqueName(kPrivateTmpPrefix)).string();
    if (ec || ::mkdir(dir.c_str(), 0700) != 0) {
      spdlog::warn("sandbox: no private TMPDIR for {}: {}", options.argv[0],
                   ec ? ec.message() : std::string(std::strerror(errno)));
      return;
    }
    dir_ = std::move(dir);
  }
  ~PrivateTmp() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  PrivateTmp(const PrivateTmp&) = delete;
  PrivateTmp& operator=(const PrivateTmp&) = delete;

  const std::string& dir() const { return dir_; }  // empty: none

 private:
  std::string dir_;
};

// Private TMPDIRs whose maker is gone (killed with SIGKILL, it removed nothing).
int RemoveAbandonedTmp() {
  std::error_code ec;
  const std::filesystem::path root = std::filesystem::temp_directory_path(ec);
  if (ec) return 0;
  std::vector<std::filesystem::path> abandoned;
  // increment(ec), not a range-for: an error while listing must not throw here.
  for (std::filesystem::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (NamesGoneMaker(it->path().filename().string(), kPrivateTmpPrefix, false)) abandoned.push_back(it->path());
  }
  int removed = 0;
  for (const std::filesystem::path& p : abandoned) removed += std::filesystem::remove_all(p, ec) > 0 ? 1 : 0;
  return removed;
}

}  // namespace

std::string_view MemoryEnforcementName(MemoryEnforcement enforcement) {
  switch (enforcement) {
    case MemoryEnforcement::kCgroupV1: return "cgroup v1";
    case MemoryEnforcement::kCgroupV2: return "cgroup v2";
    case MemoryEnforcement::kRssWatch: return "rss watch";
  }
  return "unknown";
}

std::string RunResult::ToString() const {
  std::string s = exit.ToString();
  if (oom_killed) s += ", OOM-killed (" + std::to_string(oom_kill_count) + " OOM kills in the cgroup)";
  if (killed_at_limit) s += ", killed at the memory limit by the RSS watch";
  if (memory_stall) s += ", stalled at the limit (" + stall_evidence + ")";
  if (timed_out) s += ", timed out";
  if (stopped) s += ", stopped";
  s += ", peak " + Mib(peak_bytes) + ", " + std::to_string(wall_time.count()) + " ms, " +
       std::string(MemoryEnforcementName(enforcement));
  if (!enforcement_note.empty()) s += " (" + enforcement_note + ")";
  return s;
}

Sandbox::Sandbox(SandboxConfig config) : config_(std::move(config)) {
  if (int removed = RemoveAbandonedTmp(); removed > 0) {
    spdlog::info("sandbox: removed {} private TMPDIRs left by processes that are gone", removed);
  }
  if (config_.force_rss_watch) {
    note_ = "cgroups not used: RSS watch asked for";
    return;
  }
  StatusOr<CgroupDir> own = FindOwnMemoryCgroup(config_.fs_root);
  Status usable = own.status();
  if (usable.ok()) usable = EnableMemoryForChildren(*own);
  if (usable.ok()) {
    own_ = *own;
    if (int removed = RemoveAbandonedChildren(*own_); removed > 0) {
      spdlog::info("sandbox: removed {} empty cgroups left in {} by processes that are gone", removed, own_->dir);
    }
    return;
  }
  note_ = usable.message();
  spdlog::warn("sandbox: {}; memory limits will be enforced by watching the RSS of each process tree", note_);
}

MemoryEnforcement Sandbox::enforcement() const {
  if (!own_) return MemoryEnforcement::kRssWatch;
  return own_->version == CgroupVersion::kV2 ? MemoryEnforcement::kCgroupV2 : MemoryEnforcement::kCgroupV1;
}

StatusOr<RunResult> Sandbox::Run(const RunOptions& options) const {
  if (options.argv.empty()) return InvalidArgumentError("sandbox: empty argv");
  const std::uint64_t limit = options.memory_limit_bytes;
  RunResult result;
  result.enforcement_note = note_;

  std::optional<MemoryCgroup> cgroup;
  if (own_) {
    StatusOr<MemoryCgroup> made = MemoryCgroup::Create(*own_, MemoryCgroup::UniqueName());
    Status setup = made.status();
    if (made.ok()) {
      cgroup.emplace(std::move(made).value());
      if (limit > 0) setup = cgroup->SetLimit(limit);
      if (setup.ok() && options.kill_tree_on_oom && cgroup->version() == CgroupVersion::kV2) {
        setup = cgroup->SetOomGroup(true);
      }
      if (!setup.ok()) {
        (void)cgroup->Remove();
        cgroup.reset();
      }
    }
    if (!setup.ok()) {
      AddNote(result.enforcement_note, "no cgroup for this run: " + setup.message());
      spdlog::warn("sandbox: {}: no cgroup for this run ({}); enforcing the limit by watching RSS", options.argv[0],
                   setup.message());
    }
  }
  if (cgroup) {
    result.enforcement =
        cgroup->version() == CgroupVersion::kV2 ? MemoryEnforcement::kCgroupV2 : MemoryEnforcement::kCgroupV1;
    result.cgroup_dir = cgroup->dir();
    if (limit > 0 && !cgroup->swap_limited()) {
      AddNote(result.enforcement_note, "the kernel offers no swap limit for the cgroup, so swap can stretch the limit");
    }
  }
  const CgroupVersion version = cgroup ? cgroup->version() : CgroupVersion::kV1;
  Enforcer enforcer(std::move(cgroup), "/proc");

  const PrivateTmp tmp(options);
  std::vector<std::string> env = options.env;
  if (!tmp.dir().empty()) env.push_back("TMPDIR=" + tmp.dir());
  ChildSpec spawn{
      .argv = options.argv,
      .extra_env = env,
      .working_dir = options.working_dir,
      .output_file = options.output_file,
      .die_with_parent = true,
      .cgroup_procs_path = enforcer.has_cgroup() ? enforcer.cgroup().procs_path() : "",
  };
  const auto start = steady_clock::now();
  StatusOr<Subprocess> child = Subprocess::Spawn(spawn);
  if (!child.ok()) return child.status();
  enforcer.Attach(child->pid());

  std::uint64_t peak_sampled = 0;
  bool tree_killed_on_oom = false;
  std::optional<StallDetector> stall;
  if (options.memory_stall_after.count() > 0 && enforcer.has_cgroup() && limit > 0) {
    stall.emplace(options.memory_stall_after);
  }
  auto next_stall_sample = start;
  auto next_sample = start;
  std::optional<ExitInfo> exit;
  // Every way the tree is ended early: the cgroup's kill (or, failing that, the top
  // process's), then its exit.
  auto kill_tree = [&]() -> std::optional<ExitInfo> {
    Status killed = enforcer.KillAll();
    if (!killed.ok()) {
      AddNote(result.enforcement_note, killed.message());
      child->Signal(SIGKILL);
    }
    return child->Wait();
  };
  for (;;) {
    const auto now = steady_clock::now();
    std::optional<std::uint64_t> usage = enforcer.Usage();
    if (usage) peak_sampled = std::max(peak_sampled, *usage);
    if (!enforcer.has_cgroup() && limit > 0 && usage && *usage > limit) {
      result.killed_at_limit = true;
      spdlog::warn("sandbox: {}: the process tree uses {} of RSS, over its limit of {}; killing it", options.argv[0],
                   Mib(*usage), Mib(limit));
      exit = kill_tree();
      break;
    }
    if (options.kill_tree_on_oom && enforcer.has_cgroup() && version == CgroupVersion::kV1 && !tree_killed_on_oom) {
      StatusOr<MemoryEvents> events = enforcer.cgroup().Events();
      if (events.ok() && events->oom_kill > 0) {
        tree_killed_on_oom = true;
        (void)enforcer.KillAll();
      }
    }
    if (stall && usage && now >= next_stall_sample) {
      next_stall_sample = now + kStallSampleInterval;
      const std::int64_t unix_ms = UnixMsNow();
      const std::optional<StallFigures> figures =
          stall->Add({.unix_ms = unix_ms,
                      .usage_bytes = *usage,
                      .limit_bytes = limit,
                      .counters = ReadPressureCounters(enforcer.cgroup().dir(), version == CgroupVersion::kV2)});
      if (figures) {
        result.memory_stall = true;
        result.stall_evidence = DescribeStall(*figures);
        spdlog::warn("sandbox: {}: stalled at the memory limit ({}); killing the tree", options.argv[0],
                     result.stall_evidence);
        exit = kill_tree();
        break;
      }
    }
    if (options.on_sample && usage && now >= next_sample) {
      options.on_sample({.elapsed = std::chrono::duration_cast<milliseconds>(now - start), .usage_bytes = *usage});
      next_sample += options.sample_interval;
      if (next_sample <= now) next_sample = now + options.sample_interval;
    }
    const bool stop = options.stop_requested && options.stop_requested();
    const bool late = options.timeout && now - start >= *options.timeout;
    if (stop || late) {
      result.stopped = stop;
      result.timed_out = !stop;
      if (options.stop_grace.count() > 0) {
        enforcer.Signal(SIGTERM);
        child->Wait(options.stop_grace);
      }
      exit = kill_tree();
      break;
    }
    exit = child->Wait(std::min(kTick, std::max(options.sample_interval, milliseconds(1))));
    if (exit) break;
  }
  result.exit = *exit;
  result.wall_time = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);

  // What the top process left behind goes with it.
  Status leftovers = enforcer.KillAll();
  if (!leftovers.ok()) AddNote(result.enforcement_note, leftovers.message());

  result.peak_bytes = peak_sampled;
  if (enforcer.has_cgroup()) {
    MemoryCgroup& cg = enforcer.cgroup();
    StatusOr<MemoryEvents> events = cg.Events();
    // The kernel counts an OOM kill just after sending the SIGKILL, so a victim can be
    // reaped a moment before the count moves.
    for (int i = 0; i < 20 && result.exit.signal == SIGKILL && events.ok() && events->oom_kill == 0; ++i) {
      std::this_thread::sleep_for(milliseconds(10));
      events = cg.Events();
    }
    if (events.ok()) {
      result.oom_kill_count = events->oom_kill;
      result.oom_killed = events->oom_kill > 0;
    } else {
      AddNote(result.enforcement_note, "cannot read OOM kills: " + events.status().message());
    }
    StatusOr<std::uint64_t> peak = cg.Peak();
    if (peak.ok()) result.peak_bytes = std::max(result.peak_bytes, *peak);
    Status removed = cg.Remove();
    if (!removed.ok()) {
      AddNote(result.enforcement_note, removed.message());
      spdlog::warn("sandbox: {}", removed.message());
    }
  }
  return result;
}

}  // namespace gotestrun::sandbox
