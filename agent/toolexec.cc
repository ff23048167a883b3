#include "agent/toolexec.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "agent/stand_in.h"
#include "sandbox/child_process.h"
#include "base/timestamps.h"

namespace gotestrun::agent {
namespace {

using evidence::BinaryEnd;
using evidence::BuildEvent;
using evidence::BuildRecord;

std::string_view BaseName(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The tool's name without a Windows-style ".exe", should a cross-built go name it so.
std::string_view ToolName(std::string_view path) {
  std::string_view name = BaseName(path);
  if (name.ends_with(".exe")) name.remove_suffix(4);
  return name;
}

// The value of `-name value` or `-name=value` among a tool's arguments.
std::string FlagArg(const std::vector<std::string>& argv, std::string_view name) {
  const std::string dashed = "-" + std::string(name);
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (argv[i] == dashed && i + 1 < argv.size()) return argv[i + 1];
    if (argv[i].starts_with(dashed + "=")) return argv[i].substr(dashed.size() + 1);
  }
  return "";
}

// One line with a single write(2) on the O_APPEND descriptor: whole lines, never
// interleaved with another step's. Not written once the log has reached its cap.
void Append(int fd, const BuildRecord& record) {
  if (fd < 0) return;
  const std::string line = evidence::EncodeBuildRecord(record);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) + line.size() > evidence::kMaxBuildLogBytes) {
    return;
  }
  ssize_t n;
  do {
    n = ::write(fd, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
}

[[noreturn]] void ExecInPlace(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  const std::string message = "gotestrun-agent toolexec: exec " + argv[0] + ": " + std::strerror(errno) + "\n";
  (void)!::write(2, message.data(), message.size());
  ::_exit(127);
}

}  // namespace

bool RecordsBuildStep(const std::vector<std::string>& argv) {
  if (argv.empty()) return false;
  const std::string_view tool = ToolName(argv[0]);
  if (tool != "compile" && tool != "link") return false;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (argv[i] == "-V" || argv[i].starts_with("-V=")) return false;
  }
  return true;
}

std::string BuildStepPackage(const std::vector<std::string>& argv, std::string_view toolexec_import_path) {
  if (std::string package = evidence::BuildPackageOf(toolexec_import_path); !package.empty()) return package;
  if (argv.empty()) return "unknown";
  if (ToolName(argv[0]) == "compile") {
    if (std::string p = FlagArg(argv, "p"); !p.empty()) return p;
  }
  // A test binary is linked to $WORK/bNNN/<last element of the package>.test.
  if (std::string out = FlagArg(argv, "o"); !out.empty()) return evidence::BuildPackageOf(BaseName(out));
  return "unknown";
}

BinaryEnd RunBuildTool(const ExecOptions& options) {
  if (!RecordsBuildStep(options.argv)) ExecInPlace(options.argv);

  const evidence::AttemptLayout layout(options.attempt_dir);
  const int log = ::open(layout.build_log().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const char* import_path = std::getenv("TOOLEXEC_IMPORTPATH");
  BuildRecord record{.tool = std::string(ToolName(options.argv[0])),
                     .package = BuildStepPackage(options.argv, import_path ? import_path : ""),
                     .import_path = import_path ? import_path : "",
                     // The wrapper's pid: known before the tool starts, one wrapper per step.
                     .pid = ::getpid(),
                     .start_unix_ms = UnixMsNow()};
  Append(log, record);

  StandIn stand_in({SIGINT, SIGTERM, SIGHUP, SIGQUIT});
  // The tool stays in the go command's process group and shares the wrapper's streams,
  // so it sees the same signals and writes where it would have without the wrapper.
  sandbox::ChildSpec spec{.argv = options.argv, .own_process_group = false};
  spec.stdio = {sandbox::kShareStream, sandbox::kShareStream, sandbox::kShareStream};
  StatusOr<pid_t> pid = stand_in.Spawn(std::move(spec));
  if (!pid.ok()) {
    const std::string message = "gotestrun-agent toolexec: " + pid.status().message() + "\n";
    (void)!::write(2, message.data(), message.size());
    record.event = BuildEvent::kEnd;
    record.end = BinaryEnd{.exit_code = 127};
    record.end_unix_ms = UnixMsNow();
    Append(log, record);
    if (log >= 0) ::close(log);
    return record.end;
  }
  const sandbox::ExitInfo end = stand_in.Wait(*pid);
  record.event = BuildEvent::kEnd;
  record.end_unix_ms = UnixMsNow();
  record.end = BinaryEnd{.exit_code = end.exit_code,
                         .signal = end.signal,
                         .core_dumped = end.core_dumped,
                         .max_rss_bytes = end.max_rss_bytes};
  Append(log, record);
  if (log >= 0) ::close(log);
  return record.end;
}

}  // namespace gotestrun::agent
