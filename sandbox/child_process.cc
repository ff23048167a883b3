#include "sandbox/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace gotestrun::sandbox {

std::string ExitInfo::ToString() const {
  if (signal != 0) return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

namespace {

// What a child that could not exec tells its parent through the pipe: a stage and errno.
constexpr int kStageExec = 0;
constexpr int kStageChdir = 1;
constexpr int kStageCgroup = 2;
constexpr int kStageStdio = 3;

[[noreturn]] void ChildFailed(int pipe_fd, int stage) {
  int failure[2] = {stage, errno};
  (void)!::write(pipe_fd, failure, sizeof failure);
  ::_exit(127);
}

// Runs between fork and exec, so only async-signal-safe calls: the pid is formatted by hand.
bool JoinCgroup(const char* procs_path) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  for (pid_t pid = ::getpid(); pid > 0; pid /= 10) *--p = static_cast<char>('0' + pid % 10);
  int fd = ::open(procs_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::write(fd, p, static_cast<size_t>(end - p));
  int err = errno;
  ::close(fd);
  errno = err;
  return n == end - p;
}

// Closes every descriptor from 3 up but `keep`, between fork and exec. close_range
// where the kernel has it (5.9+), else one close per possible descriptor.
void CloseInherited(int keep, int max_fd) {
#ifdef SYS_close_range
  bool done = true;
  if (keep > 3 && ::syscall(SYS_close_range, 3u, static_cast<unsigned>(keep - 1), 0u) != 0) done = false;
  if (done && ::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0u, 0u) != 0) done = false;
  if (done) return;
#endif
  for (int fd = 3; fd < max_fd; ++fd) {
    if (fd != keep) ::close(fd);
  }
}

ExitInfo FromWaitStatus(int ws, const struct rusage& usage) {
  ExitInfo e;
  if (WIFEXITED(ws)) e.exit_code = WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) {
    e.signal = WTERMSIG(ws);
    e.core_dumped = WCOREDUMP(ws);
  }
  // Linux reports ru_maxrss in KiB.
  e.max_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
  return e;
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

StatusOr<pid_t> SpawnChild(const ChildSpec& spec) {
  if (spec.argv.empty()) return InvalidArgumentError("spawn: empty argv");
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls are allowed.
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  for (const std::string& kv : spec.extra_env) {
    const std::string prefix = kv.substr(0, kv.find('=') + 1);
    std::erase_if(env_storage, [&](const std::string& s) { return s.starts_with(prefix); });
    env_storage.push_back(kv);
  }
  std::vector<char*> envp, argv;
  for (std::string& s : env_storage) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_storage = spec.argv;
  for (std::string& s : argv_storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  sigset_t held;
  sigemptyset(&held);
  for (int sig : spec.held_signals) sigaddset(&held, sig);

  // The streams, opened here so that the child only has to dup2 them.
  std::array<int, 3> stdio = spec.stdio;
  int null_fd = -1, out_fd = -1;
  if (stdio[0] == kNullStream || stdio[1] == kNullStream || stdio[2] == kNullStream) {
    null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0) return InternalError(std::string("open /dev/null: ") + std::strerror(errno));
  }
  if (!spec.output_file.empty()) {
    out_fd = ::open(spec.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      const int err = errno;
      CloseFd(null_fd);
      return FailedPreconditionError("cannot open " + spec.output_file + ": " + std::strerror(err));
    }
    stdio[1] = stdio[2] = out_fd;
  }
  for (int& fd : stdio) {
    if (fd == kNullStream) fd = null_fd;
  }
  struct rlimit files {};
  const int max_fd = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
                         ? static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1 << 20))
                         : 1 << 16;

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    const int err = errno;
    CloseFd(null_fd);
    CloseFd(out_fd);
    return InternalError(std::string("pipe: ") + std::strerror(err));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    CloseFd(null_fd);
    CloseFd(out_fd);
    return UnavailableError(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    if (spec.own_process_group) ::setpgid(0, 0);
    if (spec.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    }
    if (!spec.cgroup_procs_path.empty() && !JoinCgroup(spec.cgroup_procs_path.c_str())) {
      ChildFailed(err_pipe[1], kStageCgroup);
    }
    for (int fd = 0; fd < 3; ++fd) {
      const int from = stdio[static_cast<std::size_t>(fd)];
      if (from >= 0 && from != fd && ::dup2(from, fd) < 0) ChildFailed(err_pipe[1], kStageStdio);
    }
    CloseInherited(err_pipe[1], max_fd);
    if (!spec.working_dir.empty() && ::chdir(spec.working_dir.c_str()) != 0) ChildFailed(err_pipe[1], kStageChdir);
    // A child starts with the dispositions a shell would give it, not our handlers.
    ::signal(SIGPIPE, SIG_DFL);
    for (int sig : spec.held_signals) ::signal(sig, SIG_DFL);
    ::sigprocmask(SIG_UNBLOCK, &held, nullptr);
    ::execvpe(argv[0], argv.data(), envp.data());
    ChildFailed(err_pipe[1], kStageExec);
  }
  if (spec.own_process_group) ::setpgid(pid, pid);  // also here, so that the group exists before we signal it
  ::close(err_pipe[1]);
  CloseFd(null_fd);
  CloseFd(out_fd);
  int failure[2] = {0, 0};  // stage, errno
  ssize_t n;
  do {
    n = ::read(err_pipe[0], failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == sizeof failure) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    const std::string what = failure[0] == kStageCgroup  ? "cannot join cgroup " + spec.cgroup_procs_path
                             : failure[0] == kStageChdir ? "cannot enter " + spec.working_dir
                             : failure[0] == kStageStdio ? "cannot set up the streams of " + spec.argv[0]
                                                         : "cannot start " + spec.argv[0];
    return FailedPreconditionError(what + ": " + std::strerror(failure[1]));
  }
  return pid;
}

ExitInfo WaitChild(pid_t pid) {
  int status = 0;
  struct rusage usage {};
  pid_t r;
  do {
    r = ::wait4(pid, &status, 0, &usage);
  } while (r < 0 && errno == EINTR);
  if (r != pid) return ExitInfo{};
  return FromWaitStatus(status, usage);
}

StatusOr<CapturedRun> RunCaptured(ChildSpec spec, std::size_t max_bytes) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return InternalError(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return InternalError(std::string("pipe: ") + std::strerror(err));
  }
  int fds[4] = {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]};
  spec.output_file.clear();
  spec.stdio = {kNullStream, fds[1], fds[3]};
  StatusOr<pid_t> pid = SpawnChild(spec);
  CloseFd(fds[1]);
  CloseFd(fds[3]);
  if (!pid.ok()) {
    CloseFd(fds[0]);
    CloseFd(fds[2]);
    return pid.status();
  }

  CapturedRun run;
  bool too_large = false;
  char buf[65536];
  while (fds[0] >= 0 || fds[2] >= 0) {
    pollfd pfds[2] = {{fds[0], POLLIN, 0}, {fds[2], POLLIN, 0}};
    if (::poll(pfds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      int& fd = fds[i * 2];
      if (fd < 0 || pfds[i].revents == 0) continue;
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        CloseFd(fd);
        continue;
      }
      std::string& sink = i == 0 ? run.out : run.err;
      if (sink.size() + static_cast<std::size_t>(n) > max_bytes) {
        too_large = true;
        continue;  // keep draining so the child is not stuck on a full pipe
      }
      // Grown by hand: std::string doubles its capacity, which near the cap would
      // allocate up to twice what may be kept.
      if (sink.size() + static_cast<std::size_t>(n) > sink.capacity()) {
        sink.reserve(std::min(max_bytes, std::max(sink.capacity() * 2, sink.size() + static_cast<std::size_t>(n))));
      }
      sink.append(buf, static_cast<std::size_t>(n));
    }
  }
  CloseFd(fds[0]);
  CloseFd(fds[2]);
  run.end = WaitChild(*pid);
  if (too_large) {
    return ResourceExhaustedError(spec.argv[0] + " printed more than " + std::to_string(max_bytes) + " bytes");
  }
  return run;
}

StatusOr<Subprocess> Subprocess::Spawn(const ChildSpec& spec) {
  StatusOr<pid_t> pid = SpawnChild(spec);
  if (!pid.ok()) return pid.status();
  return Subprocess(*pid);
}

Subprocess::Subprocess(Subprocess&& other) noexcept : pid_(other.pid_), exit_(other.exit_) { other.pid_ = -1; }

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !exit_) {
      Signal(SIGKILL);
      Wait();
    }
    pid_ = other.pid_;
    exit_ = other.exit_;
    other.pid_ = -1;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exit_) {
    Signal(SIGKILL);
    Wait();
  }
}

bool Subprocess::running() { return pid_ > 0 && !Wait(std::chrono::milliseconds(0)).has_value(); }

void Subprocess::Signal(int sig) {
  if (pid_ <= 0 || exit_) return;
  if (::kill(-pid_, sig) != 0) ::kill(pid_, sig);
}

std::optional<ExitInfo> Subprocess::Wait(std::optional<std::chrono::milliseconds> timeout) {
  if (exit_) return exit_;
  if (pid_ <= 0) return std::nullopt;
  auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout : std::chrono::steady_clock::time_point::max();
  for (;;) {
    int ws = 0;
    struct rusage usage {};
    pid_t r = ::wait4(pid_, &ws, timeout ? WNOHANG : 0, &usage);
    if (r == pid_) {
      exit_ = FromWaitStatus(ws, usage);
      return exit_;
    }
    if (r < 0 && errno != EINTR) {
      exit_ = ExitInfo{};  // not our child any more; nothing to wait for
      return exit_;
    }
    if (timeout && std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    if (timeout) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ExitInfo Subprocess::Stop(std::chrono::milliseconds grace) {
  if (exit_) return *exit_;
  Signal(SIGTERM);
  if (auto e = Wait(grace)) {
    ::kill(-pid_, SIGKILL);  // whatever the leader left behind in its group
    return *e;
  }
  Signal(SIGKILL);
  return Wait().value_or(ExitInfo{});
}

}  // namespace gotestrun::sandbox
