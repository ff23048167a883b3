// Starting and ending child processes. Each child gets a process group of its own (so
// the whole tree can be signalled) and, by default, dies with the process that
// started it: a crashed test or operator leaves no servers or test binaries behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace gotestrun {

struct SpawnOptions {
  std::vector<std::string> argv;
  std::vector<std::string> extra_env;  // "NAME=value", added to this process's environment
  std::string working_dir;             // empty: this process's
  std::string output_file;             // stdout and stderr appended here; empty: /dev/null
  bool die_with_parent = true;
  // When set (a cgroup's cgroup.procs), the child writes its pid there before it
  // does anything else, so the command runs inside that cgroup from its first
  // instruction; if the write fails the child never runs and Spawn fails.
  std::string cgroup_procs_path;
};

// How a process ended, as waitpid reported it.
struct ExitInfo {
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
  std::string ToString() const;
};

class Subprocess {
 public:
  static StatusOr<Subprocess> Spawn(const SpawnOptions& options);
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

}  // namespace gotestrun
