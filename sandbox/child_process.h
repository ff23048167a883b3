// Starting, waiting for and ending child processes: the one fork/exec of the project.
// Everything a child needs is built before fork (argv, the environment with
// extra_env applied, the streams), so that between fork and exec only
// async-signal-safe calls run. In the child: a process group of its own unless told
// otherwise (so the whole tree can be signalled), death with the process that started
// it, the cgroup joined before anything else, the chosen streams, every other
// descriptor closed (an inherited pipe or socket would keep its other end alive),
// default signal dispositions. A child that cannot start says why through a
// close-on-exec pipe, and Spawn fails with that reason.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace gotestrun::sandbox {

// ChildSpec::stdio values besides a descriptor of this process.
inline constexpr int kShareStream = -1;  // the child uses this process's own stream
inline constexpr int kNullStream = -2;   // /dev/null

struct ChildSpec {
  std::vector<std::string> argv;       // argv[0] is looked up in PATH if it has no '/'
  std::vector<std::string> extra_env;  // "NAME=value", replacing NAME in this process's environment
  std::string working_dir;             // empty: this process's
  // When set, stdout and stderr are appended to this file (created if need be),
  // whatever stdio says for them.
  std::string output_file;
  // The child's stdin, stdout and stderr: a descriptor of this process, kShareStream
  // or kNullStream.
  std::array<int, 3> stdio{kNullStream, kNullStream, kNullStream};
  bool die_with_parent = true;  // SIGKILL when this process dies (PR_SET_PDEATHSIG)
  // False keeps the child in this process's group, for a wrapper whose child must end
  // with it when its caller signals the group (the exec wrapper under go test).
  bool own_process_group = true;
  // When set (a cgroup's cgroup.procs), the child writes its pid there before it
  // does anything else, so the command runs inside that cgroup from its first
  // instruction; if the write fails the child never runs and the spawn fails.
  std::string cgroup_procs_path;
  // Signals the child starts with blocked here and released in the child after its
  // handlers are reset, so that none is handled by a copy of this process's handlers.
  std::vector<int> held_signals;
};

// How a process ended, as wait4 reported it.
struct ExitInfo {
  int exit_code = -1;  // when it exited; -1 when a signal ended it
  int signal = 0;      // when a signal ended it
  bool core_dumped = false;
  std::uint64_t max_rss_bytes = 0;  // rusage ru_maxrss of it and what it waited for
  std::string ToString() const;
};

// Starts the child. FailedPrecondition when it cannot be started (no such program, no
// such folder, the cgroup refused it), with the reason.
StatusOr<pid_t> SpawnChild(const ChildSpec& spec);
// Waits for the child (retrying on EINTR) and says how it ended.
ExitInfo WaitChild(pid_t pid);

struct CapturedRun {
  ExitInfo end;
  std::string out;
  std::string err;
};
// Runs a command to its end with stdin from /dev/null, collecting stdout and stderr
// apart. ResourceExhausted when either exceeds `max_bytes`.
StatusOr<CapturedRun> RunCaptured(ChildSpec spec, std::size_t max_bytes);

// A child that is ended with its process group when the object goes away.
class Subprocess {
 public:
  static StatusOr<Subprocess> Spawn(const ChildSpec& spec);
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // Kills the process group and reaps the child if it is still running.
  ~Subprocess();

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `sig` to the whole process group.
  void Signal(int sig);
  // SIGTERM, up to `grace` for it to exit, then SIGKILL; returns how it ended.
  ExitInfo Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Waits for the process to end; nullopt when `timeout` passed first.
  std::optional<ExitInfo> Wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<ExitInfo> exit_;
};

}  // namespace gotestrun::sandbox
