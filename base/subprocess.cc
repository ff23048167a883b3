#include "base/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace gotestrun {

std::string ExitInfo::ToString() const {
  if (signal != 0) return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

namespace {

// What a child that could not exec tells its parent through the pipe: a stage and errno.
constexpr int kStageExec = 0;
constexpr int kStageChdir = 1;
constexpr int kStageCgroup = 2;

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

ExitInfo FromWaitStatus(int ws) {
  ExitInfo e;
  if (WIFEXITED(ws)) e.exit_code = WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) e.signal = WTERMSIG(ws);
  return e;
}
}  // namespace

StatusOr<Subprocess> Subprocess::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return InvalidArgumentError("spawn: empty argv");
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls are allowed.
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  for (const std::string& kv : options.extra_env) {
    std::string name = kv.substr(0, kv.find('='));
    std::erase_if(env_storage, [&](const std::string& s) { return s.compare(0, name.size() + 1, name + "=") == 0; });
    env_storage.push_back(kv);
  }
  std::vector<char*> envp, argv;
  for (std::string& s : env_storage) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_storage = options.argv;
  for (std::string& s : argv_storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string out = options.output_file.empty() ? "/dev/null" : options.output_file;
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return InternalError(std::string("pipe: ") + std::strerror(errno));
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return UnavailableError(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    if (options.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    }
    if (!options.cgroup_procs_path.empty() && !JoinCgroup(options.cgroup_procs_path.c_str())) {
      ChildFailed(err_pipe[1], kStageCgroup);
    }
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int in = ::open("/dev/null", O_RDONLY);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (in >= 0) ::dup2(in, 0);
    if (!options.working_dir.empty() && ::chdir(options.working_dir.c_str()) != 0) {
      ChildFailed(err_pipe[1], kStageChdir);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::execvpe(argv[0], argv.data(), envp.data());
    ChildFailed(err_pipe[1], kStageExec);
  }
  ::setpgid(pid, pid);  // also here, so that the group exists before we signal it
  ::close(err_pipe[1]);
  int failure[2] = {0, 0};  // stage, errno
  ssize_t n;
  do {
    n = ::read(err_pipe[0], failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == sizeof failure) {
    ::waitpid(pid, nullptr, 0);
    std::string what = failure[0] == kStageCgroup ? "cannot join cgroup " + options.cgroup_procs_path
                       : failure[0] == kStageChdir ? "cannot enter " + options.working_dir
                                                   : "cannot start " + options.argv[0];
    return FailedPreconditionError(what + ": " + std::strerror(failure[1]));
  }
  return Subprocess(pid);
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
    pid_t r = ::waitpid(pid_, &ws, timeout ? WNOHANG : 0);
    if (r == pid_) {
      exit_ = FromWaitStatus(ws);
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

}  // namespace gotestrun
