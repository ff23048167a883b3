// A process tree seen through /proc, for when no memory cgroup can be had: its members,
// their total resident memory, and a way to kill them all.
//
// Membership is what can be known without a cgroup: the processes in the root's process
// group, the descendants of the root (by parent pid), and every process seen as a member
// before that is still alive (its start time unchanged, so a reused pid is not taken
// for it). A process that leaves the group (setsid) after its parent died is lost;
// that is the price of running without a cgroup. Shared pages count once per process,
// so the total over-counts memory that processes share.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gotestrun::sandbox {

// The fields of /proc/<pid>/stat this needs.
struct ProcessStat {
  pid_t pid = 0;
  char state = '?';  // 'Z' for a zombie
  pid_t ppid = 0;
  pid_t pgid = 0;
  std::uint64_t start_time = 0;  // clock ticks after boot
};
// The command name is in parentheses and may itself hold spaces and parentheses, so the
// fields are counted from the last ')'.
StatusOr<ProcessStat> ParseProcStat(std::string_view text);
// When the live process `pid` started (clock ticks after boot); nullopt when there is
// no such process or it is a zombie. A pid with its start time names one process for
// good: a pid alone may have been reused.
std::optional<std::uint64_t> ProcessStartTime(pid_t pid, const std::string& proc_root = "/proc");
// VmRSS from /proc/<pid>/status, in bytes. NotFound when there is no VmRSS line
// (kernel threads and zombies have none).
StatusOr<std::uint64_t> ParseVmRss(std::string_view status);

// Pure: the members of the tree among `table` (zombies excluded): processes in group
// `pgid`, processes in `known` with the same start time, and every descendant of those
// and of `root`.
std::vector<ProcessStat> TreeMembers(const std::vector<ProcessStat>& table, pid_t root, pid_t pgid,
                                     const std::map<pid_t, std::uint64_t>& known);

class ProcessTree {
 public:
  // The tree of `root`, which leads its own process group (as Subprocess makes it).
  explicit ProcessTree(pid_t root, std::string proc_root = "/proc");

  // Scans /proc once and returns the live members (remembering them for later scans).
  std::vector<pid_t> Members();
  // The members' VmRSS added up.
  std::uint64_t RssBytes();
  // SIGKILLs the group and every member until none is left alive; DeadlineExceeded
  // with the pids left after `timeout`.
  Status Kill(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Sends `sig` once to the group and every member.
  void Signal(int sig);

 private:
  std::vector<ProcessStat> Scan();

  pid_t root_;
  std::string proc_root_;
  std::map<pid_t, std::uint64_t> known_;  // pid -> start time
};

}  // namespace gotestrun::sandbox
