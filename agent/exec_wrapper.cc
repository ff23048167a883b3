#include "agent/exec_wrapper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "agent/go_test_command.h"
#include "agent/heap_overlay.h"
#include "agent/stand_in.h"
#include "agent/memory_stall_watch.h"
#include "base/files.h"
#include "core/diagnosis/gotest/gctrace.h"
#include "core/diagnosis/gotest/line_splitter.h"
#include "sandbox/child_process.h"
#include "base/timestamps.h"

namespace gotestrun::agent {

using evidence::AttemptLayout;
using evidence::BinaryEnd;
using evidence::DecodePackageListings;
using evidence::EncodeExecRecord;
using evidence::ExecRecord;
using evidence::PackageListing;
using sandbox::ChildSpec;

namespace {

// After the binary ends, how long its output pipe may stay open (held by a process it
// started) before the wrapper stops reading it.
constexpr std::chrono::seconds kDrainAfterExit{2};
constexpr std::size_t kMaxGcLineBytes = 64 * 1024;

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return path;
  return resolved;
}

std::string CurrentDir() {
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) == nullptr) return ".";
  return buf;
}

bool SameFile(int a, int b) {
  struct stat sa {
  }, sb{};
  if (::fstat(a, &sa) != 0 || ::fstat(b, &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void Complain(const std::string& message) {
  const std::string line = "gotestrun-agent exec: " + message + "\n";
  (void)WriteAll(2, line);
}

std::optional<std::string> Env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// Copies the binary's output from `in` to `out` and its GC lines to `gc_log` until
// the pipe closes, or until `deadline_ms` (set once the binary has ended) passes.
void Tee(int in, int out, int gc_log, const std::atomic<std::int64_t>& deadline_ms) {
  gotest::LineSplitter splitter(kMaxGcLineBytes);
  const auto on_line = [gc_log](std::string_view line, bool) {
    if (gc_log < 0 || !gotest::IsGcTraceLine(line)) return;
    std::string copy(line);
    copy += '\n';
    (void)WriteAll(gc_log, copy);
  };
  bool out_open = true;
  char buf[65536];
  for (;;) {
    const std::int64_t deadline = deadline_ms.load();
    if (deadline != 0 && UnixMsNow() > deadline) break;
    pollfd pfd{in, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    const std::string_view chunk(buf, static_cast<std::size_t>(n));
    // go test gone: keep reading so the binary never blocks on a full pipe.
    if (out_open) out_open = WriteAll(out, chunk);
    splitter.Feed(chunk, on_line);
  }
  splitter.Finish(on_line);
}

// GOMEMLIMIT the binary will run with: the one `run` asked for, else one it inherits.
std::optional<std::uint64_t> EffectiveGoMemLimit(std::vector<std::string>& extra_env) {
  if (const std::optional<std::string> wanted = Env(std::string(kGoMemLimitEnv).c_str()); wanted && !wanted->empty()) {
    StatusOr<std::uint64_t> bytes = ParseByteSize(*wanted);
    if (bytes.ok()) {
      extra_env.push_back("GOMEMLIMIT=" + std::to_string(*bytes));
      return *bytes;
    }
    Complain(std::string(kGoMemLimitEnv) + ": " + bytes.status().message());
  }
  if (const std::optional<std::string> inherited = Env("GOMEMLIMIT"); inherited) {
    StatusOr<std::uint64_t> bytes = ParseByteSize(*inherited);
    if (bytes.ok()) return *bytes;
  }
  return std::nullopt;
}

}  // namespace

std::string WithGcTrace(std::string_view godebug) {
  if (godebug.empty()) return "gctrace=1";
  std::string out(godebug);
  if (!out.ends_with(',')) out += ',';
  return out + "gctrace=1";
}

std::string PackageForDir(const std::vector<PackageListing>& packages, const std::string& dir) {
  for (const PackageListing& p : packages) {
    if (!p.dir.empty() && p.dir == dir) return p.import_path;
  }
  const std::string real = RealPath(dir);
  for (const PackageListing& p : packages) {
    if (!p.dir.empty() && (p.dir == real || RealPath(p.dir) == real)) return p.import_path;
  }
  return real;
}

BinaryEnd RunTestBinary(const ExecOptions& options) {
  const AttemptLayout layout(options.attempt_dir);
  if (Status s = layout.Create(); !s.ok()) Complain(s.ToString());

  std::vector<PackageListing> packages;
  if (StatusOr<std::string> text = ReadFileWithin(layout.dir(), layout.packages(), evidence::kMaxPackagesBytes);
      text.ok()) {
    if (auto decoded = DecodePackageListings(*text); decoded.ok()) packages = std::move(decoded).value();
  }
  ExecRecord record{.package = PackageForDir(packages, CurrentDir()), .argv = options.argv};

  const std::string heap_dir = layout.heap_dir(record.package);
  if (::mkdir(heap_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    Complain("mkdir " + heap_dir + ": " + std::strerror(errno));
  }
  std::vector<std::string> extra_env{
      "GODEBUG=" + WithGcTrace(Env("GODEBUG").value_or("")),
      std::string(kHeapDirEnv) + "=" + heap_dir,
  };
  record.gomemlimit = EffectiveGoMemLimit(extra_env);

  const std::string gc_path = layout.gctrace(record.package);
  const int gc_log = ::open(gc_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (gc_log < 0) Complain("open " + gc_path + ": " + std::strerror(errno));

  const bool merged = SameFile(1, 2);
  int pipe_fds[2] = {-1, -1};
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    Complain(std::string("pipe: ") + std::strerror(errno));
    pipe_fds[0] = pipe_fds[1] = -1;
  }

  // go test ends its binaries when it is stopped, not when it is killed (gotestrun and
  // the agent killed with SIGKILL): the wrapper then dies with go test, and the binary,
  // its child, dies with the wrapper (die_with_parent), instead of running on unread.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The wrapper outlives go test's reading end only long enough to write its record.
  ::signal(SIGPIPE, SIG_IGN);
  // Signals go test (or a person at a terminal) may send the wrapper, meant for the binary.
  StandIn stand_in({SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2});

  // The binary stays in go test's process group, so that go test's signals to the
  // group reach it, and shares the wrapper's streams but those the pipe replaces.
  ChildSpec spec{.argv = options.argv, .extra_env = std::move(extra_env), .own_process_group = false};
  spec.stdio = {sandbox::kShareStream, sandbox::kShareStream, sandbox::kShareStream};
  if (pipe_fds[1] >= 0) spec.stdio = {sandbox::kShareStream, merged ? pipe_fds[1] : sandbox::kShareStream, pipe_fds[1]};

  record.start_unix_ms = UnixMsNow();
  StatusOr<pid_t> pid = stand_in.Spawn(std::move(spec));
  if (pipe_fds[1] >= 0) ::close(pipe_fds[1]);
  if (!pid.ok()) {
    if (pipe_fds[0] >= 0) ::close(pipe_fds[0]);
    if (gc_log >= 0) ::close(gc_log);
    record.end_unix_ms = UnixMsNow();
    record.end = BinaryEnd{.exit_code = 127};
    record.error = pid.status().message();
    Complain(record.error);
    if (Status s = WriteFileAtomic(layout.exec_record(record.package), EncodeExecRecord(record)); !s.ok()) {
      Complain(s.ToString());
    }
    return record.end;
  }
  // For the agent's memory stall watch: which process is this package's test binary.
  const std::string pid_file = RunningBinaryFile(layout, record.package);
  if (Status s = WriteFileAtomic(pid_file, FormatRunningBinary(*pid, record.package)); !s.ok()) Complain(s.ToString());

  std::atomic<std::int64_t> drain_deadline_ms{0};
  std::thread tee;
  if (pipe_fds[0] >= 0) {
    tee = std::thread(Tee, pipe_fds[0], merged ? 1 : 2, gc_log, std::cref(drain_deadline_ms));
  }
  const sandbox::ExitInfo end = stand_in.Wait(*pid);
  record.end = BinaryEnd{.exit_code = end.exit_code,
                         .signal = end.signal,
                         .core_dumped = end.core_dumped,
                         .max_rss_bytes = end.max_rss_bytes};
  record.end_unix_ms = UnixMsNow();
  ::unlink(pid_file.c_str());
  drain_deadline_ms.store(UnixMsNow() + std::chrono::milliseconds(kDrainAfterExit).count());
  if (tee.joinable()) tee.join();
  if (pipe_fds[0] >= 0) ::close(pipe_fds[0]);
  if (gc_log >= 0) ::close(gc_log);

  if (Status s = WriteFileAtomic(layout.exec_record(record.package), EncodeExecRecord(record)); !s.ok()) {
    Complain(s.ToString());
  }
  return record.end;
}

void ExitLike(const BinaryEnd& end) {
  std::fflush(nullptr);
  if (end.signal != 0) {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    ::sigaction(end.signal, &action, nullptr);
    // Without a core from the binary there must be none from the wrapper either, or go
    // test would report "(core dumped)".
    if (!end.core_dumped) {
      struct rlimit none {};
      ::setrlimit(RLIMIT_CORE, &none);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, end.signal);
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(end.signal);
    // A signal that does not end a process by default (SIGCHLD, SIGURG, ...): say it
    // the way a shell would.
    ::_exit(128 + end.signal);
  }
  ::_exit(end.exit_code < 0 ? 1 : end.exit_code);
}

}  // namespace gotestrun::agent
