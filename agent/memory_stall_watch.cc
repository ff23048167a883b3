#include "agent/memory_stall_watch.h"

#include <dirent.h>
#include <signal.h>

#include <charconv>

#include <spdlog/spdlog.h>

#include "base/files.h"
#include "sandbox/memory_pressure.h"

namespace gotestrun::agent {
namespace {

constexpr std::size_t kMaxPidFileBytes = 64 * 1024;
constexpr std::size_t kMaxSnapshotsBytes = 16 << 20;

// The highest sequence number in heap/<pkg>/snapshots.tsv, 0 when there is none.
std::uint64_t LastSnapshot(const evidence::AttemptLayout& layout, const std::string& package) {
  StatusOr<std::string> text =
      ReadFile(layout.heap_dir(package) + "/" + std::string(evidence::kHeapSnapshotsFile), kMaxSnapshotsBytes);
  if (!text.ok()) return 0;
  std::uint64_t last = 0;
  for (const evidence::HeapSnapshotLine& line : evidence::ParseHeapSnapshots(*text)) last = std::max(last, line.seq);
  return last;
}

// Resident pages of `pid` (the second field of /proc/<pid>/statm), 0 when unreadable.
std::uint64_t ResidentPages(int pid) {
  StatusOr<std::string> text = ReadFile("/proc/" + std::to_string(pid) + "/statm", 4096);
  if (!text.ok()) return 0;
  const std::size_t space = text->find(' ');
  if (space == std::string::npos) return 0;
  std::uint64_t pages = 0;
  std::from_chars(text->data() + space + 1, text->data() + text->size(), pages);
  return pages;
}

}  // namespace

std::string RunningBinaryFile(const evidence::AttemptLayout& layout, std::string_view import_path) {
  return layout.exec_dir() + "/" + evidence::EscapePackage(import_path) + ".pid";
}

std::string FormatRunningBinary(int pid, std::string_view import_path) {
  return std::to_string(pid) + "\t" + std::string(import_path) + "\n";
}

std::optional<RunningBinary> ParseRunningBinary(std::string_view text) {
  const std::size_t tab = text.find('\t');
  if (tab == std::string_view::npos || !text.ends_with('\n')) return std::nullopt;
  int pid = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + tab, pid);
  if (ec != std::errc() || ptr != text.data() + tab || pid <= 1) return std::nullopt;
  std::string package(text.substr(tab + 1, text.size() - tab - 2));
  if (package.empty()) return std::nullopt;
  return RunningBinary{pid, std::move(package)};
}

std::vector<RunningBinary> RunningBinaries(const evidence::AttemptLayout& layout) {
  std::vector<RunningBinary> out;
  DIR* dir = ::opendir(layout.exec_dir().c_str());
  if (dir == nullptr) return out;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (!name.ends_with(".pid")) continue;
    StatusOr<std::string> text = ReadFile(layout.exec_dir() + "/" + name, kMaxPidFileBytes);
    if (!text.ok()) continue;
    if (std::optional<RunningBinary> b = ParseRunningBinary(*text)) out.push_back(std::move(*b));
  }
  ::closedir(dir);
  return out;
}

MemoryStallWatch::MemoryStallWatch(evidence::AttemptLayout layout, std::string cgroup_dir, bool v2,
                                   std::chrono::milliseconds after)
    : layout_(std::move(layout)), cgroup_dir_(std::move(cgroup_dir)), v2_(v2), after_(after), detector_(after) {}

void MemoryStallWatch::Sample(std::int64_t unix_ms, std::uint64_t usage_bytes,
                              std::optional<std::uint64_t> limit_bytes) {
  if (cgroup_dir_.empty() || after_.count() == 0) return;
  const sandbox::StallSample sample{.unix_ms = unix_ms,
                                    .usage_bytes = usage_bytes,
                                    .limit_bytes = limit_bytes,
                                    .counters = sandbox::ReadPressureCounters(cgroup_dir_, v2_)};
  const std::optional<sandbox::StallFigures> stall = detector_.Add(sample);
  const bool thrashing = detector_.thrashing_since().has_value();
  if (thrashing && !thrashing_) RequestHeapProfiles();
  thrashing_ = thrashing;
  if (stall) EndStall(*stall, unix_ms);
}

void MemoryStallWatch::RequestHeapProfiles() {
  profiles_at_thrash_.clear();
  for (const RunningBinary& b : RunningBinaries(layout_)) {
    profiles_at_thrash_.emplace_back(b.package, LastSnapshot(layout_, b.package));
    const std::string request = layout_.heap_dir(b.package) + "/" + std::string(kHeapSnapshotNowFile);
    if (Status s = WriteFileAtomic(request, ""); !s.ok()) spdlog::warn("heap profile request: {}", s.ToString());
  }
}

void MemoryStallWatch::EndStall(const sandbox::StallFigures& figures, std::int64_t now_ms) {
  const std::vector<RunningBinary> running = RunningBinaries(layout_);
  // Nothing of ours to end (go test building, or between binaries): the stall goes
  // on, and the next thrashing sample tries again.
  if (running.empty()) return;
  // With -p above 1 several binaries share the cgroup and the counters cannot say whose
  // pages thrash: the largest goes, as the OOM killer would choose, and the others get
  // a whole `after` more before the watch acts again.
  const RunningBinary* victim = &running.front();
  std::uint64_t largest = 0;
  for (const RunningBinary& b : running) {
    if (const std::uint64_t pages = ResidentPages(b.pid); pages > largest) {
      largest = pages;
      victim = &b;
    }
  }
  const std::string evidence = sandbox::DescribeStall(figures);
  spdlog::warn("attempt {}: {} stalled at the memory limit ({}); ending its test binary (pid {})", layout_.dir(),
               victim->package, evidence, victim->pid);
  ::kill(victim->pid, SIGKILL);
  detector_ = sandbox::StallDetector(after_);
  thrashing_ = false;
  if (record_) return;
  evidence::MemoryStallRecord r{.package = victim->package,
                                .since_unix_ms = figures.since_unix_ms,
                                .detected_unix_ms = figures.detected_unix_ms,
                                .ended_unix_ms = now_ms,
                                .limit_bytes = figures.limit_bytes,
                                .evidence = evidence};
  // The profile asked for at the thrash's start, if the binary managed to write it;
  // else the last one before the kill.
  const std::uint64_t last = LastSnapshot(layout_, r.package);
  std::uint64_t before = 0;
  for (const auto& [package, seq] : profiles_at_thrash_) {
    if (package == r.package) before = seq;
  }
  const std::uint64_t chosen = last > before ? before + 1 : last;
  if (chosen > 0) {
    const std::string dir = layout_.heap_dir(r.package);
    r.heap_profile = dir.substr(layout_.dir().size() + 1) + "/" + evidence::HeapProfileName(chosen);
  }
  record_ = std::move(r);
}

}  // namespace gotestrun::agent
