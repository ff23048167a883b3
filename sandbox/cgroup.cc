#include "sandbox/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include "base/files.h"
#include "sandbox/process_tree.h"

namespace gotestrun::sandbox {
namespace {

constexpr std::size_t kControlFileCap = 64 << 10;
constexpr std::size_t kProcsFileCap = 4 << 20;

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = text.find(sep, start);
    out.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines = Split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

std::optional<std::uint64_t> Unsigned(std::string_view s) {
  if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string Quote(std::string_view s) {
  constexpr std::size_t kMax = 80;
  std::string out = "\"";
  out += s.substr(0, kMax);
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string DecodeOctalEscapes(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      bool octal = true;
      int value = 0;
      for (std::size_t k = 1; k <= 3; ++k) {
        if (i + k >= s.size() || s[i + k] < '0' || s[i + k] > '7') {
          octal = false;
          break;
        }
        value = value * 8 + (s[i + k] - '0');
      }
      if (octal) {
        out.push_back(static_cast<char>(value));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool HasDotDot(std::string_view path) {
  for (std::string_view part : Split(path, '/')) {
    if (part == "..") return true;
  }
  return false;
}

// Where `entry`'s cgroup is on disk through `mount`, if the mount shows it.
std::optional<std::string> DirThrough(const CgroupMount& mount, const std::string& path, std::string_view fs_root) {
  std::string below;
  if (mount.root == "/") {
    below = path;
  } else if (path == mount.root) {
    below = "";
  } else if (path.starts_with(mount.root + "/")) {
    below = path.substr(mount.root.size());
  } else {
    return std::nullopt;
  }
  if (below == "/") below.clear();
  std::string mount_point = mount.mount_point;
  if (mount_point == "/") mount_point.clear();
  return std::string(fs_root) + mount_point + below;
}

StatusOr<CgroupDir> Locate(CgroupVersion version, const ProcCgroupEntry& entry, const std::vector<CgroupMount>& mounts,
                           std::string_view fs_root) {
  const std::string what = std::string(CgroupVersionName(version)) + (version == CgroupVersion::kV1 ? " memory" : "");
  if (entry.path.empty() || entry.path.front() != '/' || HasDotDot(entry.path)) {
    return FailedPreconditionError("our " + what + " cgroup " + Quote(entry.path) +
                                   " lies outside this cgroup namespace");
  }
  bool mounted = false;
  for (const CgroupMount& mount : mounts) {
    if (mount.version != version) continue;
    if (version == CgroupVersion::kV1 && !Contains(mount.super_options, "memory")) continue;
    mounted = true;
    if (std::optional<std::string> dir = DirThrough(mount, entry.path, fs_root)) {
      return CgroupDir{.version = version, .cgroup_path = entry.path, .dir = std::move(*dir)};
    }
  }
  if (!mounted) return NotFoundError("the " + what + " hierarchy is not mounted");
  return FailedPreconditionError("our " + what + " cgroup " + entry.path + " is outside every mount of its hierarchy");
}

Status ErrnoStatus(int err, const std::string& what) {
  std::string message = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: return NotFoundError(std::move(message));
    case EACCES:
    case EPERM:
    case EROFS: return Status(StatusCode::kPermissionDenied, std::move(message));
    case EINVAL: return InvalidArgumentError(std::move(message));
    case EEXIST: return Status(StatusCode::kAlreadyExists, std::move(message));
    default: return FailedPreconditionError(std::move(message));
  }
}

// Control files are written in one write(2): the kernel takes each write as one command.
Status WriteControl(const std::string& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open " + path);
  ssize_t n;
  do {
    n = ::write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  int err = errno;
  ::close(fd);
  if (n < 0) return ErrnoStatus(err, "write " + Quote(value) + " to " + path);
  if (static_cast<std::size_t>(n) != value.size()) return InternalError("short write to " + path);
  return Status::Ok();
}

StatusOr<std::uint64_t> ReadCounter(const std::string& path) {
  StatusOr<std::string> text = ReadFile(path, kControlFileCap);
  if (!text.ok()) return text.status();
  StatusOr<std::uint64_t> v = ParseCounter(*text);
  if (!v.ok()) return v.status().Annotate(path);
  return v;
}

}  // namespace

std::string_view CgroupVersionName(CgroupVersion version) {
  return version == CgroupVersion::kV2 ? "cgroup v2" : "cgroup v1";
}

StatusOr<std::vector<ProcCgroupEntry>> ParseProcCgroup(std::string_view text) {
  std::vector<ProcCgroupEntry> entries;
  int number = 0;
  for (std::string_view line : Lines(text)) {
    ++number;
    const std::size_t first = line.find(':');
    const std::size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) {
      return InvalidArgumentError("/proc/self/cgroup line " + std::to_string(number) +
                                  " is not id:controllers:path: " + Quote(line));
    }
    std::optional<std::uint64_t> id = Unsigned(line.substr(0, first));
    if (!id || *id > 1u << 20) {
      return InvalidArgumentError("/proc/self/cgroup line " + std::to_string(number) +
                                  " has no hierarchy id: " + Quote(line));
    }
    ProcCgroupEntry entry;
    entry.hierarchy_id = static_cast<int>(*id);
    std::string_view controllers = line.substr(first + 1, second - first - 1);
    if (!controllers.empty()) {
      for (std::string_view c : Split(controllers, ',')) entry.controllers.emplace_back(c);
    }
    entry.path = std::string(line.substr(second + 1));
    if (entry.path.empty()) {
      return InvalidArgumentError("/proc/self/cgroup line " + std::to_string(number) + " has no path: " + Quote(line));
    }
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) return InvalidArgumentError("/proc/self/cgroup is empty");
  return entries;
}

StatusOr<std::vector<CgroupMount>> ParseCgroupMounts(std::string_view mountinfo) {
  std::vector<CgroupMount> mounts;
  int number = 0;
  for (std::string_view line : Lines(mountinfo)) {
    ++number;
    if (TrimSpace(line).empty()) continue;
    std::vector<std::string_view> f = Fields(line);
    auto dash = std::find(f.begin(), f.end(), "-");
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    if (dash == f.end() || dash - f.begin() < 6 || f.end() - dash < 3) {
      return InvalidArgumentError("mountinfo line " + std::to_string(number) + " is not a mount: " + Quote(line));
    }
    std::string_view fstype = *(dash + 1);
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    CgroupMount mount;
    mount.version = fstype == "cgroup2" ? CgroupVersion::kV2 : CgroupVersion::kV1;
    mount.root = DecodeOctalEscapes(f[3]);
    mount.mount_point = DecodeOctalEscapes(f[4]);
    if (mount.root.empty() || mount.root.front() != '/' || mount.mount_point.empty() ||
        mount.mount_point.front() != '/') {
      return InvalidArgumentError("mountinfo line " + std::to_string(number) + " has a relative path: " + Quote(line));
    }
    for (std::string_view o : Split(*(dash + 3), ',')) mount.super_options.emplace_back(o);
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

OwnCgroups LocateOwnCgroups(const std::vector<ProcCgroupEntry>& entries, const std::vector<CgroupMount>& mounts,
                            std::string_view fs_root) {
  OwnCgroups own;
  for (const ProcCgroupEntry& entry : entries) {
    if (entry.hierarchy_id == 0 && entry.controllers.empty()) {
      own.unified = Locate(CgroupVersion::kV2, entry, mounts, fs_root);
    } else if (Contains(entry.controllers, "memory")) {
      own.v1_memory = Locate(CgroupVersion::kV1, entry, mounts, fs_root);
    }
  }
  return own;
}

StatusOr<CgroupDir> FindOwnMemoryCgroup(const std::string& fs_root) {
  StatusOr<std::string> cgroup_text = ReadFile(fs_root + "/proc/self/cgroup", kControlFileCap);
  if (!cgroup_text.ok()) return FailedPreconditionError("no memory cgroup: " + cgroup_text.status().message());
  StatusOr<std::string> mountinfo_text = ReadFile(fs_root + "/proc/self/mountinfo");
  if (!mountinfo_text.ok()) return FailedPreconditionError("no memory cgroup: " + mountinfo_text.status().message());
  StatusOr<std::vector<ProcCgroupEntry>> entries = ParseProcCgroup(*cgroup_text);
  if (!entries.ok()) return FailedPreconditionError("no memory cgroup: " + entries.status().message());
  StatusOr<std::vector<CgroupMount>> mounts = ParseCgroupMounts(*mountinfo_text);
  if (!mounts.ok()) return FailedPreconditionError("no memory cgroup: " + mounts.status().message());

  OwnCgroups own = LocateOwnCgroups(*entries, *mounts, fs_root);
  std::string v2_reason;
  if (own.unified.ok()) {
    StatusOr<std::string> controllers = ReadFile(own.unified->dir + "/cgroup.controllers", kControlFileCap);
    if (!controllers.ok()) {
      v2_reason = controllers.status().message();
    } else {
      std::vector<std::string_view> names = Fields(TrimSpace(*controllers));
      if (std::find(names.begin(), names.end(), "memory") != names.end()) return *own.unified;
      v2_reason = "the memory controller is not available to " + own.unified->dir +
                  " (cgroup.controllers: " + Quote(TrimSpace(*controllers)) + ")";
    }
  } else {
    v2_reason = own.unified.status().message();
  }
  if (own.v1_memory.ok()) return *own.v1_memory;
  return FailedPreconditionError("no memory cgroup: cgroup v2: " + v2_reason +
                                 "; cgroup v1: " + own.v1_memory.status().message());
}

StatusOr<MemoryEvents> ParseMemoryEvents(std::string_view text) {
  MemoryEvents events;
  bool have_oom_kill = false;
  for (std::string_view line : Lines(text)) {
    std::vector<std::string_view> f = Fields(line);
    if (f.empty()) continue;
    std::optional<std::uint64_t> value = f.size() == 2 ? Unsigned(f[1]) : std::nullopt;
    if (!value) return InvalidArgumentError("memory.events line is not \"name count\": " + Quote(line));
    if (f[0] == "oom_kill") {
      events.oom_kill = *value;
      have_oom_kill = true;
    } else if (f[0] == "oom") {
      events.oom = *value;
    }
  }
  if (!have_oom_kill) return InvalidArgumentError("memory.events has no oom_kill count: " + Quote(text));
  return events;
}

StatusOr<MemoryEvents> ParseOomControl(std::string_view text) {
  MemoryEvents events;
  bool have_oom_kill = false;
  for (std::string_view line : Lines(text)) {
    std::vector<std::string_view> f = Fields(line);
    if (f.empty()) continue;
    std::optional<std::uint64_t> value = f.size() == 2 ? Unsigned(f[1]) : std::nullopt;
    if (!value) return InvalidArgumentError("memory.oom_control line is not \"name value\": " + Quote(line));
    if (f[0] == "oom_kill") {
      events.oom_kill = *value;
      have_oom_kill = true;
    } else if (f[0] == "under_oom") {
      events.under_oom = *value != 0;
    }
  }
  if (!have_oom_kill) {
    return InvalidArgumentError("memory.oom_control has no oom_kill count (Linux 4.13+): " + Quote(text));
  }
  return events;
}

StatusOr<std::uint64_t> ParseCounter(std::string_view text) {
  std::optional<std::uint64_t> v = Unsigned(TrimSpace(text));
  if (!v) return InvalidArgumentError("not a byte count: " + Quote(text));
  return *v;
}

StatusOr<std::vector<pid_t>> ParsePids(std::string_view text) {
  std::vector<pid_t> pids;
  for (std::string_view line : Lines(text)) {
    std::optional<std::uint64_t> v = Unsigned(TrimSpace(line));
    if (!v || *v == 0 || *v > (1u << 30)) return InvalidArgumentError("cgroup.procs line is not a pid: " + Quote(line));
    pids.push_back(static_cast<pid_t>(*v));
  }
  return pids;
}

Status EnableMemoryForChildren(const CgroupDir& parent) {
  if (parent.version != CgroupVersion::kV2) return Status::Ok();
  const std::string subtree = parent.dir + "/cgroup.subtree_control";
  StatusOr<std::string> enabled = ReadFile(subtree, kControlFileCap);
  if (!enabled.ok()) return enabled.status();
  std::vector<std::string_view> names = Fields(TrimSpace(*enabled));
  if (std::find(names.begin(), names.end(), "memory") != names.end()) return Status::Ok();
  Status s = WriteControl(subtree, "+memory");
  if (s.ok()) return s;
  return FailedPreconditionError(
      "cannot enable the memory controller for the children of " + parent.dir + " (" + s.message() +
      "); cgroup v2 allows that only in a cgroup without processes of its own: run under a delegated cgroup whose "
      "processes sit in a leaf");
}

bool NamesGoneMaker(std::string_view name, std::string_view prefix, bool older_form) {
  if (!name.starts_with(prefix)) return false;
  std::vector<std::uint64_t> parts;
  bool numbers = true;
  for (std::string_view rest = name.substr(prefix.size()); numbers;) {
    const std::size_t dash = rest.find('-');
    std::optional<std::uint64_t> n = Unsigned(rest.substr(0, dash));
    numbers = n.has_value();
    if (n) parts.push_back(*n);
    if (dash == std::string_view::npos) break;
    rest.remove_prefix(dash + 1);
  }
  if (!numbers || parts.size() < 2 || parts.size() > 3 || parts[0] == 0 || parts[0] > (1u << 30)) return false;
  const auto pid = static_cast<pid_t>(parts[0]);
  if (parts.size() == 3) return ProcessStartTime(pid) != parts[1];  // its maker, or a later process with its pid
  return older_form && ::kill(pid, 0) != 0 && errno == ESRCH;
}

int RemoveAbandonedChildren(const CgroupDir& parent) {
  int removed = 0;
  DIR* dir = ::opendir(parent.dir.c_str());
  if (dir == nullptr) return 0;
  std::vector<std::string> abandoned;
  while (dirent* entry = ::readdir(dir)) {
    if (NamesGoneMaker(entry->d_name, kMadeNamePrefix, true)) abandoned.push_back(parent.dir + "/" + entry->d_name);
  }
  ::closedir(dir);
  for (std::string& path : abandoned) {
    MemoryCgroup left(parent.version, std::move(path));
    if (left.Remove().ok()) ++removed;
  }
  return removed;
}

StatusOr<MemoryCgroup> MemoryCgroup::Create(const CgroupDir& parent, std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
    return InvalidArgumentError("cgroup name " + Quote(name) + " is not a single path component");
  }
  GTR_RETURN_IF_ERROR(EnableMemoryForChildren(parent));
  std::string dir = parent.dir + "/" + std::string(name);
  if (::mkdir(dir.c_str(), 0755) != 0) return ErrnoStatus(errno, "create cgroup " + dir);
  return MemoryCgroup(parent.version, std::move(dir));
}

std::string MemoryCgroup::UniqueName(std::string_view prefix) {
  static std::atomic<std::uint64_t> next{0};
  static const std::string maker =
      std::to_string(::getpid()) + "-" + std::to_string(ProcessStartTime(::getpid()).value_or(0)) + "-";
  return std::string(prefix) + maker + std::to_string(next.fetch_add(1));
}

MemoryCgroup::MemoryCgroup(MemoryCgroup&& other) noexcept
    : version_(other.version_), dir_(std::move(other.dir_)), swap_limited_(other.swap_limited_) {
  other.dir_.clear();
}

MemoryCgroup& MemoryCgroup::operator=(MemoryCgroup&& other) noexcept {
  if (this != &other) {
    if (!dir_.empty()) (void)Remove();
    version_ = other.version_;
    dir_ = std::move(other.dir_);
    swap_limited_ = other.swap_limited_;
    other.dir_.clear();
  }
  return *this;
}

MemoryCgroup::~MemoryCgroup() {
  if (!dir_.empty()) (void)Remove();
}

Status MemoryCgroup::SetLimit(std::uint64_t bytes) {
  const std::string value = std::to_string(bytes);
  if (version_ == CgroupVersion::kV2) {
    GTR_RETURN_IF_ERROR(WriteControl(File("memory.max"), value));
    Status swap = WriteControl(File("memory.swap.max"), "0");
    if (swap.code() == StatusCode::kNotFound) {
      swap_limited_ = false;  // a kernel without swap: nothing to limit
      return Status::Ok();
    }
    GTR_RETURN_IF_ERROR(swap);
    swap_limited_ = true;
    return Status::Ok();
  }
  // v1 keeps memsw >= limit at every moment, so raising the limit past the current
  // memsw needs memsw raised first.
  const std::string memsw = File("memory.memsw.limit_in_bytes");
  Status limit = WriteControl(File("memory.limit_in_bytes"), value);
  if (limit.code() == StatusCode::kInvalidArgument) {
    Status raised = WriteControl(memsw, value);
    if (raised.ok()) limit = WriteControl(File("memory.limit_in_bytes"), value);
  }
  GTR_RETURN_IF_ERROR(limit);
  Status swap = WriteControl(memsw, value);
  if (swap.code() == StatusCode::kNotFound) {
    swap_limited_ = false;  // booted without swap accounting
    return Status::Ok();
  }
  GTR_RETURN_IF_ERROR(swap);
  swap_limited_ = true;
  return Status::Ok();
}

Status MemoryCgroup::SetOomGroup(bool on) {
  if (version_ == CgroupVersion::kV1) return Status(StatusCode::kUnimplemented, "cgroup v1 has no memory.oom.group");
  return WriteControl(File("memory.oom.group"), on ? "1" : "0");
}

StatusOr<std::uint64_t> MemoryCgroup::Usage() const {
  return ReadCounter(File(version_ == CgroupVersion::kV2 ? "memory.current" : "memory.usage_in_bytes"));
}

StatusOr<std::uint64_t> MemoryCgroup::Peak() const {
  return ReadCounter(File(version_ == CgroupVersion::kV2 ? "memory.peak" : "memory.max_usage_in_bytes"));
}

StatusOr<MemoryEvents> MemoryCgroup::Events() const {
  const std::string path = File(version_ == CgroupVersion::kV2 ? "memory.events" : "memory.oom_control");
  StatusOr<std::string> text = ReadFile(path, kControlFileCap);
  if (!text.ok()) return text.status();
  StatusOr<MemoryEvents> events = version_ == CgroupVersion::kV2 ? ParseMemoryEvents(*text) : ParseOomControl(*text);
  if (!events.ok()) return events.status().Annotate(path);
  return events;
}

StatusOr<std::vector<pid_t>> MemoryCgroup::Pids() const {
  const std::string path = procs_path();
  StatusOr<std::string> text = ReadFile(path, kProcsFileCap);
  if (!text.ok()) return text.status();
  StatusOr<std::vector<pid_t>> pids = ParsePids(*text);
  if (!pids.ok()) return pids.status().Annotate(path);
  return pids;
}

Status MemoryCgroup::Signal(int sig) const {
  StatusOr<std::vector<pid_t>> pids = Pids();
  if (!pids.ok()) return pids.status();
  for (pid_t pid : *pids) ::kill(pid, sig);
  return Status::Ok();
}

Status MemoryCgroup::Kill(std::chrono::milliseconds timeout) const {
  if (dir_.empty()) return Status::Ok();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Without cgroup.kill (before Linux 5.14, or refused) the loop below signals each pid.
  const bool kernel_kills = version_ == CgroupVersion::kV2 && WriteControl(File("cgroup.kill"), "1").ok();
  auto pause = std::chrono::milliseconds(2);
  for (;;) {
    StatusOr<std::vector<pid_t>> pids = Pids();
    if (!pids.ok()) return pids.status();
    if (pids->empty()) return Status::Ok();
    // A pid read here may belong to a process that exits and whose number is reused
    // before the kill; the window is a few microseconds and v1 offers nothing better.
    if (!kernel_kills) {
      for (pid_t pid : *pids) ::kill(pid, SIGKILL);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string left;
      for (pid_t pid : *pids) left += (left.empty() ? "" : " ") + std::to_string(pid);
      return DeadlineExceededError(std::to_string(pids->size()) + " processes still in " + dir_ + " after " +
                                   std::to_string(timeout.count()) + " ms: " + left);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

Status MemoryCgroup::Remove() {
  if (dir_.empty()) return Status::Ok();
  Status killed = Kill();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) {
      dir_.clear();
      return Status::Ok();
    }
    const int err = errno;
    // EBUSY: processes are still leaving, or the kernel still holds the cgroup.
    if (err != EBUSY || std::chrono::steady_clock::now() >= deadline) {
      Status s = ErrnoStatus(err, "remove cgroup " + dir_);
      return killed.ok() ? s : s.Annotate(killed.message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// ---- the memory of the cgroup this process runs in ----

namespace {

// v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes, just under 2^63.
constexpr std::uint64_t kV1Unlimited = 1ULL << 62;

std::string_view TrimLine(std::string_view s) {
  s = TrimSpace(s);
  if (s.ends_with('\r')) s.remove_suffix(1);
  return TrimSpace(s);
}

// The folder of `path` through the first mount of its hierarchy; the mount point when
// the path is not below the mount's root.
std::optional<CgroupDir> Candidate(CgroupVersion version, const std::string& path,
                                   const std::vector<CgroupMount>& mounts) {
  for (const CgroupMount& mount : mounts) {
    if (mount.version != version) continue;
    if (version == CgroupVersion::kV1 && !Contains(mount.super_options, "memory")) continue;
    std::optional<std::string> dir = HasDotDot(path) ? std::nullopt : DirThrough(mount, path, "");
    return CgroupDir{.version = version, .cgroup_path = path, .dir = dir ? *dir : mount.mount_point};
  }
  return std::nullopt;
}

}  // namespace

std::vector<CgroupDir> MemoryCgroupCandidates(std::string_view proc_self_cgroup, std::string_view mountinfo) {
  // Line by line, so that one line the parsers refuse costs only itself.
  std::optional<std::string> v2_path, v1_path;
  for (std::string_view line : Lines(proc_self_cgroup)) {
    StatusOr<std::vector<ProcCgroupEntry>> parsed = ParseProcCgroup(line);
    if (!parsed.ok()) continue;
    for (ProcCgroupEntry& entry : *parsed) {
      std::string path(TrimLine(entry.path));
      if (path.ends_with(" (deleted)")) path.resize(path.size() - 10);
      if (entry.hierarchy_id == 0 && entry.controllers.empty()) {
        if (!v2_path) v2_path = path;
      } else if (Contains(entry.controllers, "memory") && !v1_path) {
        v1_path = path;
      }
    }
  }
  std::vector<CgroupMount> mounts;
  for (std::string_view line : Lines(mountinfo)) {
    StatusOr<std::vector<CgroupMount>> parsed = ParseCgroupMounts(line);
    if (parsed.ok()) mounts.insert(mounts.end(), parsed->begin(), parsed->end());
  }
  std::vector<CgroupDir> candidates;
  if (v2_path) {
    if (std::optional<CgroupDir> c = Candidate(CgroupVersion::kV2, *v2_path, mounts)) candidates.push_back(*c);
  }
  if (v1_path) {
    if (std::optional<CgroupDir> c = Candidate(CgroupVersion::kV1, *v1_path, mounts)) candidates.push_back(*c);
  }
  return candidates;
}

StatusOr<std::optional<std::uint64_t>> ParseMemoryLimit(std::string_view text) {
  text = TrimLine(text);
  if (text == "max") return std::optional<std::uint64_t>();
  const std::optional<std::uint64_t> v = Unsigned(text);
  if (!v) return InvalidArgumentError("memory limit: " + Quote(text));
  if (*v >= kV1Unlimited) return std::optional<std::uint64_t>();
  return v;
}

std::optional<std::uint64_t> ParseKeyedValue(std::string_view text, std::string_view key) {
  for (std::string_view line : Lines(text)) {
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos || line.substr(0, space) != key) continue;
    return Unsigned(TrimLine(line.substr(space + 1)));
  }
  return std::nullopt;
}

std::optional<CgroupMemory> CgroupMemory::Discover() {
  const StatusOr<std::string> cgroup = ReadFile("/proc/self/cgroup", kControlFileCap);
  const StatusOr<std::string> mountinfo = ReadFile("/proc/self/mountinfo", kProcsFileCap);
  if (!cgroup.ok() || !mountinfo.ok()) return std::nullopt;
  for (CgroupDir& candidate : MemoryCgroupCandidates(*cgroup, *mountinfo)) {
    StatusOr<CgroupMemory> opened = Open(std::move(candidate));
    if (opened.ok()) return std::move(opened).value();
  }
  return std::nullopt;
}

StatusOr<CgroupMemory> CgroupMemory::Open(CgroupDir cgroup) {
  CgroupMemory memory(std::move(cgroup));
  const StatusOr<MemoryUsage> usage = memory.Read();
  if (!usage.ok()) return usage.status();
  return memory;
}

std::string CgroupMemory::File(std::string_view v2_name, std::string_view v1_name) const {
  return cgroup_.dir + "/" + std::string(cgroup_.version == CgroupVersion::kV2 ? v2_name : v1_name);
}

std::string CgroupMemory::Source() const {
  return std::string(cgroup_.version == CgroupVersion::kV2 ? "cgroup2" : "cgroup1") + "\t" + cgroup_.dir;
}

StatusOr<MemoryUsage> CgroupMemory::Read() const {
  const std::string usage_path = File("memory.current", "memory.usage_in_bytes");
  const StatusOr<std::string> usage_text = ReadFile(usage_path, kControlFileCap);
  if (!usage_text.ok()) return usage_text.status();
  const std::optional<std::uint64_t> usage = Unsigned(TrimLine(*usage_text));
  if (!usage) return DataLossError(usage_path + ": " + Quote(TrimLine(*usage_text)) + " is not a number");
  MemoryUsage out{.usage_bytes = *usage};
  if (const StatusOr<std::string> limit = ReadFile(File("memory.max", "memory.limit_in_bytes"), kControlFileCap);
      limit.ok()) {
    if (auto parsed = ParseMemoryLimit(*limit); parsed.ok()) out.limit_bytes = *parsed;
  }
  // The usage counts the page cache the build wrote and the go command read; only the
  // anonymous part says what the processes themselves hold.
  if (const StatusOr<std::string> stat = ReadFile(cgroup_.dir + "/memory.stat", kControlFileCap); stat.ok()) {
    out.anon_bytes = ParseKeyedValue(*stat, cgroup_.version == CgroupVersion::kV2 ? "anon" : "total_rss");
  }
  return out;
}

std::optional<std::uint64_t> CgroupMemory::Peak() const {
  const StatusOr<std::string> text = ReadFile(File("memory.peak", "memory.max_usage_in_bytes"), kControlFileCap);
  if (!text.ok()) return std::nullopt;
  return Unsigned(TrimLine(*text));
}

std::optional<std::uint64_t> CgroupMemory::OomKills() const {
  const StatusOr<std::string> text = ReadFile(File("memory.events", "memory.oom_control"), kControlFileCap);
  if (!text.ok()) return std::nullopt;
  return ParseKeyedValue(*text, "oom_kill");
}

}  // namespace gotestrun::sandbox
