#include "sandbox/process_tree.h"

#include <dirent.h>
#include <signal.h>

#include <charconv>
#include <set>
#include <thread>

#include "base/files.h"

namespace gotestrun::sandbox {
namespace {

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  if (s.empty()) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\n') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

StatusOr<ProcessStat> ParseProcStat(std::string_view text) {
  const std::size_t open = text.find(" (");
  const std::size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return InvalidArgumentError("/proc/<pid>/stat has no (comm)");
  }
  ProcessStat stat;
  if (!ParseNumber(text.substr(0, open), stat.pid) || stat.pid <= 0) {
    return InvalidArgumentError("/proc/<pid>/stat does not start with a pid");
  }
  // Fields from the 3rd on: state ppid pgrp session tty_nr tpgid flags minflt cminflt
  // majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime
  std::vector<std::string_view> f = Fields(text.substr(close + 1));
  if (f.size() < 20 || f[0].size() != 1) return InvalidArgumentError("/proc/<pid>/stat is cut short");
  stat.state = f[0][0];
  if (!ParseNumber(f[1], stat.ppid) || !ParseNumber(f[2], stat.pgid) || !ParseNumber(f[19], stat.start_time)) {
    return InvalidArgumentError("/proc/<pid>/stat has a field that is not a number");
  }
  return stat;
}

std::optional<std::uint64_t> ProcessStartTime(pid_t pid, const std::string& proc_root) {
  StatusOr<std::string> text = ReadFile(proc_root + "/" + std::to_string(pid) + "/stat", 4096);
  if (!text.ok()) return std::nullopt;
  StatusOr<ProcessStat> stat = ParseProcStat(*text);
  if (!stat.ok() || stat->pid != pid || stat->state == 'Z') return std::nullopt;
  return stat->start_time;
}

StatusOr<std::uint64_t> ParseVmRss(std::string_view status) {
  std::size_t pos = 0;
  while (pos < status.size()) {
    std::size_t end = status.find('\n', pos);
    std::string_view line = status.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? status.size() : end + 1;
    if (!line.starts_with("VmRSS:")) continue;
    std::vector<std::string_view> f = Fields(line.substr(6));
    std::uint64_t kib = 0;
    if (f.size() != 2 || f[1] != "kB" || !ParseNumber(f[0], kib) || kib > (std::uint64_t{1} << 44)) {
      return InvalidArgumentError("VmRSS line is not \"<n> kB\"");
    }
    return kib * 1024;
  }
  return NotFoundError("no VmRSS line");
}

std::vector<ProcessStat> TreeMembers(const std::vector<ProcessStat>& table, pid_t root, pid_t pgid,
                                     const std::map<pid_t, std::uint64_t>& known) {
  std::set<pid_t> members;
  std::multimap<pid_t, pid_t> children;  // ppid -> pid
  std::vector<pid_t> frontier{root};
  for (const ProcessStat& p : table) {
    if (p.state == 'Z') continue;
    children.emplace(p.ppid, p.pid);
    auto k = known.find(p.pid);
    if (p.pgid == pgid || (k != known.end() && k->second == p.start_time)) frontier.push_back(p.pid);
  }
  while (!frontier.empty()) {
    pid_t pid = frontier.back();
    frontier.pop_back();
    if (!members.insert(pid).second) continue;
    auto [begin, end] = children.equal_range(pid);
    for (auto it = begin; it != end; ++it) frontier.push_back(it->second);
  }
  std::vector<ProcessStat> out;
  for (const ProcessStat& p : table) {
    if (p.state != 'Z' && members.contains(p.pid)) out.push_back(p);
  }
  return out;
}

ProcessTree::ProcessTree(pid_t root, std::string proc_root) : root_(root), proc_root_(std::move(proc_root)) {}

std::vector<ProcessStat> ProcessTree::Scan() {
  std::vector<ProcessStat> table;
  DIR* dir = ::opendir(proc_root_.c_str());
  if (dir == nullptr) return table;
  while (dirent* entry = ::readdir(dir)) {
    pid_t pid = 0;
    if (!ParseNumber(std::string_view(entry->d_name), pid)) continue;
    // A process may end between readdir and the read; it is simply not there.
    StatusOr<std::string> text = ReadFile(proc_root_ + "/" + entry->d_name + "/stat", 4096);
    if (!text.ok()) continue;
    StatusOr<ProcessStat> stat = ParseProcStat(*text);
    if (stat.ok()) table.push_back(*stat);
  }
  ::closedir(dir);
  std::vector<ProcessStat> members = TreeMembers(table, root_, root_, known_);
  known_.clear();
  for (const ProcessStat& p : members) known_[p.pid] = p.start_time;
  return members;
}

std::vector<pid_t> ProcessTree::Members() {
  std::vector<pid_t> pids;
  for (const ProcessStat& p : Scan()) pids.push_back(p.pid);
  return pids;
}

std::uint64_t ProcessTree::RssBytes() {
  std::uint64_t total = 0;
  for (const ProcessStat& p : Scan()) {
    StatusOr<std::string> status = ReadFile(proc_root_ + "/" + std::to_string(p.pid) + "/status", 64 << 10);
    if (!status.ok()) continue;
    StatusOr<std::uint64_t> rss = ParseVmRss(*status);
    if (rss.ok()) total += *rss;
  }
  return total;
}

void ProcessTree::Signal(int sig) {
  ::kill(-root_, sig);
  for (pid_t pid : Members()) ::kill(pid, sig);
}

Status ProcessTree::Kill(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(2);
  for (;;) {
    ::kill(-root_, SIGKILL);
    std::vector<pid_t> left = Members();
    if (left.empty()) return Status::Ok();
    for (pid_t pid : left) ::kill(pid, SIGKILL);
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string pids;
      for (pid_t pid : left) pids += (pids.empty() ? "" : " ") + std::to_string(pid);
      return DeadlineExceededError(std::to_string(left.size()) + " processes of the tree of " + std::to_string(root_) +
                                   " still alive: " + pids);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

}  // namespace gotestrun::sandbox
