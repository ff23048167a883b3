#include "agent/child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace gotestrun::agent {
namespace {

constexpr int kStageExec = 0;
constexpr int kStageChdir = 1;
constexpr int kStageStdio = 2;

[[noreturn]] void ChildFailed(int pipe_fd, int stage) {
  int failure[2] = {stage, errno};
  (void)!::write(pipe_fd, failure, sizeof failure);
  ::_exit(127);
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

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return InternalError(std::string("pipe: ") + std::strerror(errno));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return UnavailableError(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    if (spec.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    }
    for (int fd = 0; fd < 3; ++fd) {
      const int from = spec.stdio[static_cast<std::size_t>(fd)];
      if (from >= 0 && from != fd && ::dup2(from, fd) < 0) ChildFailed(err_pipe[1], kStageStdio);
    }
    if (!spec.working_dir.empty() && ::chdir(spec.working_dir.c_str()) != 0) ChildFailed(err_pipe[1], kStageChdir);
    // A test binary must start with the dispositions go test would give it.
    ::signal(SIGPIPE, SIG_DFL);
    for (int sig : spec.held_signals) ::signal(sig, SIG_DFL);
    ::sigprocmask(SIG_UNBLOCK, &held, nullptr);
    ::execvpe(argv[0], argv.data(), envp.data());
    ChildFailed(err_pipe[1], kStageExec);
  }
  ::close(err_pipe[1]);
  int failure[2] = {0, 0};  // stage, errno
  ssize_t n;
  do {
    n = ::read(err_pipe[0], failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == sizeof failure) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    const std::string what = failure[0] == kStageChdir   ? "cannot enter " + spec.working_dir
                             : failure[0] == kStageStdio ? "cannot set up the streams of " + spec.argv[0]
                                                         : "cannot start " + spec.argv[0];
    return FailedPreconditionError(what + ": " + std::strerror(failure[1]));
  }
  return pid;
}

BinaryEnd WaitChild(pid_t pid) {
  BinaryEnd end;
  int status = 0;
  struct rusage usage {};
  pid_t r;
  do {
    r = ::wait4(pid, &status, 0, &usage);
  } while (r < 0 && errno == EINTR);
  if (r != pid) return end;
  if (WIFEXITED(status)) end.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    end.signal = WTERMSIG(status);
    end.core_dumped = WCOREDUMP(status);
  }
  // Linux reports ru_maxrss in KiB.
  end.max_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
  return end;
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
  int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  spec.stdio = {null_in, fds[1], fds[3]};
  StatusOr<pid_t> pid = SpawnChild(spec);
  CloseFd(null_in);
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

}  // namespace gotestrun::agent
