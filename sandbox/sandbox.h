// Runs a command tree under a memory limit and reports how it ended, the way a kubelet
// reports a container: the top process's exit code or signal, and whether the kernel's
// OOM killer ended anything in its cgroup (containerd marks a container OOMKilled when
// any OOM kill happened in it, not only when PID 1 was the victim).
//
// Each run gets a memory cgroup of its own, a child of ours, and the command joins it
// before its first instruction. When no cgroup can be made (no memory controller, no
// permission) the run still happens: the result says so, a warning is logged, and the
// limit is enforced by watching the tree's resident memory and killing the whole tree
// when it passes the limit; such a kill is reported as killed_at_limit, never as an
// OOM kill, because the kernel did not do it.
//
// When the top process ends, whatever it left running in the cgroup (or tree) is
// killed, as a container runtime does when PID 1 exits.
//
//   Sandbox sandbox;
//   StatusOr<RunResult> r = sandbox.Run({.argv = {"go", "test", "./..."},
//                                        .output_file = "/tmp/shard0.log",
//                                        .memory_limit_bytes = 512 << 20});
//   if (r.ok() && r->oom_killed) ...
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "sandbox/child_process.h"
#include "sandbox/cgroup.h"

namespace gotestrun::sandbox {

enum class MemoryEnforcement { kCgroupV1, kCgroupV2, kRssWatch };
std::string_view MemoryEnforcementName(MemoryEnforcement enforcement);  // "cgroup v1", "cgroup v2", "rss watch"

struct MemorySample {
  std::chrono::milliseconds elapsed{0};  // since the command started
  std::uint64_t usage_bytes = 0;         // cgroup usage, or the tree's total RSS
};

struct RunOptions {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value", added to this process's environment
  std::string working_dir;       // empty: this process's
  std::string output_file;       // stdout and stderr appended here; empty: /dev/null
  // 0: no limit; memory is still measured.
  std::uint64_t memory_limit_bytes = 0;
  std::optional<std::chrono::milliseconds> timeout;
  // Polled about every 50 ms (from the thread that called Run); true ends the run
  // (Ctrl-C, a deleted pod). The tree gets SIGTERM, `stop_grace` to exit, then SIGKILL.
  std::function<bool()> stop_requested;
  std::chrono::milliseconds stop_grace{0};
  // Called from the thread that called Run, first at the start and then every
  // `sample_interval` (at most every 50 ms), for progress and memory timelines; a
  // moment when the usage cannot be read is left out.
  std::function<void(const MemorySample&)> on_sample;
  std::chrono::milliseconds sample_interval{200};
  // An OOM kill ends every process in the cgroup, as Kubernetes 1.28+ makes it on cgroup
  // v2 (memory.oom.group). On v1 the sandbox does it on seeing the OOM kill counter move.
  bool kill_tree_on_oom = false;
  // With a cgroup and a limit: a stall at the limit (memory_stall.h) that lasts this
  // long ends the whole tree, reported as memory_stall. 0: no watch.
  std::chrono::milliseconds memory_stall_after{0};
  // A TMPDIR of the tree's own, removed once the tree has ended, as a container's /tmp
  // goes with it: SIGKILL runs no cleanup, and a test killed at its limit leaves its
  // t.TempDir folders (a killed go command its work folder and test binary), which
  // add up to gigabytes on a machine that runs many attempts. Made in this process's
  // temp folder as kPrivateTmpPrefix + "<pid>-<start>-<n>"; a later Sandbox removes
  // those whose maker was killed too. Not made when `env` sets TMPDIR.
  bool private_tmp = false;
};

inline constexpr std::string_view kPrivateTmpPrefix = "gotestrun-tmp-";

struct RunResult {
  ExitInfo exit;            // the top process
  bool oom_killed = false;  // the kernel's OOM killer ended something in the cgroup
  std::uint64_t oom_kill_count = 0;
  bool killed_at_limit = false;  // the RSS watch (not the kernel) killed the tree at the limit
  bool memory_stall = false;     // the tree stalled at its limit and was killed (memory_stall_after)
  std::string stall_evidence;    // DescribeStall's figures when memory_stall
  bool timed_out = false;
  bool stopped = false;          // stop_requested said so
  std::uint64_t peak_bytes = 0;  // the kernel's peak, else the highest sample
  std::chrono::milliseconds wall_time{0};
  MemoryEnforcement enforcement = MemoryEnforcement::kRssWatch;
  std::string enforcement_note;  // why there was no cgroup, or what the cgroup could not do
  std::string cgroup_dir;        // where it ran; removed by the time Run returns
  std::string ToString() const;  // one line for logs
};

struct SandboxConfig {
  // Where /proc/self/cgroup, /proc/self/mountinfo and the cgroup mounts are found: ""
  // on a real machine. The RSS watch always reads the real /proc.
  std::string fs_root;
  bool force_rss_watch = false;  // use no cgroup even when one could be had
};

class Sandbox {
 public:
  // Finds our own memory cgroup once (on v2 also enabling memory for its children) and
  // removes empty cgroups that dead processes of ours left in it, and their private
  // TMPDIRs (RunOptions::private_tmp). Without one, every run
  // falls back to the RSS watch, and a warning says why.
  explicit Sandbox(SandboxConfig config = {});

  // How runs will enforce the limit, unless making the run's cgroup fails.
  MemoryEnforcement enforcement() const;
  // Why there is no cgroup (empty when there is one).
  const std::string& enforcement_note() const { return note_; }

  // Runs one command tree to its end. Errors only when the command cannot be run at all
  // (empty argv, no such program, no such working_dir); how it ended is in the result.
  // Safe to call from several threads at once.
  StatusOr<RunResult> Run(const RunOptions& options) const;

 private:
  SandboxConfig config_;
  std::optional<CgroupDir> own_;
  std::string note_;
};

}  // namespace gotestrun::sandbox
