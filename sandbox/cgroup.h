// Memory cgroups: finding the one this process is in, making children of it that each
// hold one command tree under a memory limit, and reading the memory of the cgroup this
// process runs in (CgroupMemory: the agent's samples, in a Pod or in a local attempt).
//
// Children are only ever made under our own cgroup (the one /proc/self/cgroup names),
// never elsewhere in the hierarchy. Both hierarchies are supported:
//   cgroup v2 (unified): memory.max, memory.current, memory.peak, memory.events
//     ("oom", "oom_kill"), memory.swap.max, memory.oom.group, cgroup.procs, cgroup.kill;
//     used when our cgroup's cgroup.controllers lists "memory".
//   cgroup v1 memory controller: memory.limit_in_bytes, memory.memsw.limit_in_bytes,
//     memory.usage_in_bytes, memory.max_usage_in_bytes, memory.oom_control
//     ("oom_kill N"), cgroup.procs.
// Every path starts with a filesystem root that is "" on a real machine, so that tests
// can run the same file protocol on a fake tree in a temporary folder.
//
// The parse functions take text and are pure; what the kernel writes is still input
// from outside, so anything malformed is an InvalidArgument, never a crash.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gotestrun::sandbox {

enum class CgroupVersion { kV1, kV2 };
std::string_view CgroupVersionName(CgroupVersion version);  // "cgroup v1", "cgroup v2"

// One line of /proc/<pid>/cgroup: "hierarchy-ID:controller-list:cgroup-path".
// The v2 line is "0::/path" (no controllers).
struct ProcCgroupEntry {
  int hierarchy_id = 0;
  std::vector<std::string> controllers;  // v1 only; "name=systemd" is kept as written
  std::string path;                      // absolute within the hierarchy
};
StatusOr<std::vector<ProcCgroupEntry>> ParseProcCgroup(std::string_view text);

// A mounted cgroup filesystem, from /proc/<pid>/mountinfo.
struct CgroupMount {
  CgroupVersion version = CgroupVersion::kV1;
  std::string root;                        // the part of the hierarchy mounted there
  std::string mount_point;                 // octal escapes (\040) decoded
  std::vector<std::string> super_options;  // v1: the controllers, e.g. {"rw", "memory"}
};
// Only cgroup and cgroup2 mounts are returned; other lines are skipped, but a line
// that is not a mountinfo line at all is an InvalidArgument.
StatusOr<std::vector<CgroupMount>> ParseCgroupMounts(std::string_view mountinfo);

// A cgroup of ours and where it is on disk.
struct CgroupDir {
  CgroupVersion version = CgroupVersion::kV1;
  std::string cgroup_path;  // as /proc/self/cgroup names it, e.g. "/process_api/75dc..."
  std::string dir;          // fs_root + mount point + the path below the mount's root
  friend bool operator==(const CgroupDir&, const CgroupDir&) = default;
};

// Where our own cgroups are: in the unified (v2) hierarchy and in the v1 hierarchy that
// has the memory controller. Each is an error saying why when it is absent or not
// reachable through any mount (a cgroup outside the mounted part of the hierarchy).
struct OwnCgroups {
  StatusOr<CgroupDir> unified = NotFoundError("no cgroup v2 line in /proc/self/cgroup");
  StatusOr<CgroupDir> v1_memory = NotFoundError("no cgroup v1 memory controller in /proc/self/cgroup");
};
OwnCgroups LocateOwnCgroups(const std::vector<ProcCgroupEntry>& entries, const std::vector<CgroupMount>& mounts,
                            std::string_view fs_root);

// Our own memory cgroup, the one whose children we may create: the v2 one when the
// memory controller is available to it (its cgroup.controllers lists "memory"), else
// the v1 memory one. FailedPrecondition, saying why for each hierarchy, when neither.
StatusOr<CgroupDir> FindOwnMemoryCgroup(const std::string& fs_root = "");

// v2 only: makes sure children of `parent` get the memory controller, writing "+memory"
// to its cgroup.subtree_control when it is not there yet. The kernel refuses that while
// `parent` itself holds processes (unless it is the root): a FailedPrecondition saying so.
// A no-op on v1.
Status EnableMemoryForChildren(const CgroupDir& parent);

// Ends and removes the children of `parent` that an earlier process of ours made and
// left behind when it died ("gotestrun-<pid>-<start>-<n>" whose process, the pid with
// that start time, is gone; or the older "gotestrun-<pid>-<n>" whose pid is gone). A
// process killed with SIGKILL cleans nothing up, and what it ran (test binaries and
// their children) may still be running in its cgroups: they are killed first (v2
// cgroup.kill, else every pid in cgroup.procs until none is left). Returns how many
// were removed.
int RemoveAbandonedChildren(const CgroupDir& parent);

// What names made by a process of ours start with (MemoryCgroup::UniqueName).
inline constexpr std::string_view kMadeNamePrefix = "gotestrun-";
// Whether `name` is "<prefix><pid>-<start time of pid>-<n>" (or, with `older_form`,
// "<prefix><pid>-<n>") of a process that is gone: left behind, nobody's to use.
bool NamesGoneMaker(std::string_view name, std::string_view prefix, bool older_form);

// What the kernel counted about memory in a cgroup.
struct MemoryEvents {
  std::uint64_t oom_kill = 0;        // processes the OOM killer ended in the cgroup
  std::optional<std::uint64_t> oom;  // v2: times the limit was hit and reclaim failed
  std::optional<bool> under_oom;     // v1: the cgroup is at its limit right now
};
// memory.events (v2): "key value" lines; "oom_kill" is required.
StatusOr<MemoryEvents> ParseMemoryEvents(std::string_view text);
// memory.oom_control (v1): "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"; "oom_kill"
// is required (Linux 4.13+).
StatusOr<MemoryEvents> ParseOomControl(std::string_view text);
// A file that holds one unsigned number (memory.current, memory.usage_in_bytes, ...).
StatusOr<std::uint64_t> ParseCounter(std::string_view text);
// cgroup.procs: one pid a line.
StatusOr<std::vector<pid_t>> ParsePids(std::string_view text);

// A child cgroup of ours. Move-only; destroying it removes it (see Remove).
class MemoryCgroup {
 public:
  // Makes `parent`/`name` (`name` a single path component), on v2 after
  // EnableMemoryForChildren(parent).
  static StatusOr<MemoryCgroup> Create(const CgroupDir& parent, std::string_view name);
  // A child name no other cgroup of this process has used, which names its maker for
  // RemoveAbandonedChildren: "gotestrun-<pid>-<start time of pid>-<n>" (other
  // prefixes for other things a process leaves, such as a run's TMPDIR).
  static std::string UniqueName(std::string_view prefix = kMadeNamePrefix);

  MemoryCgroup(MemoryCgroup&& other) noexcept;
  MemoryCgroup& operator=(MemoryCgroup&& other) noexcept;
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;
  ~MemoryCgroup();

  CgroupVersion version() const { return version_; }
  const std::string& dir() const { return dir_; }
  // What a process writes its pid into to join (ChildSpec::cgroup_procs_path).
  std::string procs_path() const { return dir_ + "/cgroup.procs"; }

  // Sets the memory limit and, where the kernel accounts swap, keeps the cgroup from
  // swapping past it (v1: memory.memsw.limit_in_bytes = the limit; v2: memory.swap.max
  // = 0). swap_limited() tells whether that second part was possible.
  Status SetLimit(std::uint64_t bytes);
  bool swap_limited() const { return swap_limited_; }
  // v2 memory.oom.group: an OOM kill ends every process in the cgroup at once, as
  // Kubernetes 1.28+ does on cgroup v2. Unimplemented on v1, which has no such switch.
  Status SetOomGroup(bool on);

  StatusOr<std::uint64_t> Usage() const;
  // The highest usage the kernel saw. NotFound on v2 kernels before 5.19 (no memory.peak).
  StatusOr<std::uint64_t> Peak() const;
  StatusOr<MemoryEvents> Events() const;
  StatusOr<std::vector<pid_t>> Pids() const;

  // Sends `sig` once to every process in the cgroup.
  Status Signal(int sig) const;
  // Ends every process in the cgroup and waits until it is empty: v2 writes cgroup.kill
  // (Linux 5.14+); otherwise, and on v1, every pid in cgroup.procs gets SIGKILL until
  // none is left, so that processes forked meanwhile are caught too.
  // DeadlineExceeded, with the pids left, when the cgroup is not empty by `timeout`.
  Status Kill(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  // Kills what is left, then removes the directory, retrying briefly while the kernel
  // still holds the cgroup (EBUSY). Afterwards dir() is empty; calling it again is a no-op.
  Status Remove();

 private:
  friend int RemoveAbandonedChildren(const CgroupDir& parent);
  MemoryCgroup(CgroupVersion version, std::string dir) : version_(version), dir_(std::move(dir)) {}
  std::string File(std::string_view name) const { return dir_ + "/" + std::string(name); }

  CgroupVersion version_;
  std::string dir_;
  bool swap_limited_ = false;
};

// ---- the memory of the cgroup this process runs in ----

// Where this process's memory cgroup could be, from the text of /proc/self/cgroup and
// /proc/self/mountinfo, v2 first: on a hybrid host the unified hierarchy is mounted
// without the memory controller, and only reading its files tells (CgroupMemory::Open).
// Unlike LocateOwnCgroups this never fails: lines that do not parse are skipped, and a
// cgroup path outside the mount's root (a cgroup namespace shows "/.." for what lies
// above it) resolves to the mount point, the nearest cgroup this process can see.
std::vector<CgroupDir> MemoryCgroupCandidates(std::string_view proc_self_cgroup, std::string_view mountinfo);

// A limit file's content: nullopt for "max" (v2) or the v1 "no limit" value (anything
// at or above 2^62), InvalidArgument for something else.
StatusOr<std::optional<std::uint64_t>> ParseMemoryLimit(std::string_view text);
// The value of `key` in a "key value" per line file (memory.events, memory.oom_control).
std::optional<std::uint64_t> ParseKeyedValue(std::string_view text, std::string_view key);

struct MemoryUsage {
  std::uint64_t usage_bytes = 0;
  std::optional<std::uint64_t> limit_bytes;  // nullopt: unlimited or unreadable
  // The anonymous memory in it (v2 memory.stat "anon", v1 "total_rss"): the usage less
  // the page cache and kernel memory. nullopt when memory.stat does not say.
  std::optional<std::uint64_t> anon_bytes;
};

// Reads the memory cgroup this process runs in: in a Pod, the test container's; under
// the local runner, the attempt's MemoryCgroup. Only reads; never creates or kills.
class CgroupMemory {
 public:
  // The first candidate whose usage file reads, or nullopt when none does.
  static std::optional<CgroupMemory> Discover();
  // NotFound/FailedPrecondition when the usage file cannot be read.
  static StatusOr<CgroupMemory> Open(CgroupDir cgroup);

  const CgroupDir& cgroup() const { return cgroup_; }
  // "cgroup2<TAB><dir>" or "cgroup1<TAB><dir>", as memory.tsv's header says it.
  std::string Source() const;

  StatusOr<MemoryUsage> Read() const;
  // The cgroup's own high-water mark (v2 memory.peak, kernels 5.19+; v1
  // memory.max_usage_in_bytes), nullopt where there is none.
  std::optional<std::uint64_t> Peak() const;
  // OOM kills in the cgroup so far (v2 memory.events oom_kill; v1 memory.oom_control
  // oom_kill, kernels 4.13+), nullopt where the kernel does not count them.
  std::optional<std::uint64_t> OomKills() const;

 private:
  explicit CgroupMemory(CgroupDir cgroup) : cgroup_(std::move(cgroup)) {}
  std::string File(std::string_view v2_name, std::string_view v1_name) const;

  CgroupDir cgroup_;
};

}  // namespace gotestrun::sandbox
