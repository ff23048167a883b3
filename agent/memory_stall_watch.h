// Ends a test binary whose attempt stalled at its memory limit (sandbox/memory_stall.h)
// before the stall eats the attempt's time: the agent runs in the attempt's cgroup (the
// Pod's container, or the local runner's sandbox), so it sees the stall first.
//
// Fed one memory sample at a time from the agent's sampling loop, it reads the
// cgroup's pressure counters beside it and:
//   - when a thrash begins, asks every running test binary for a heap profile now
//     (heap/<pkg>/snapshot-now, which the injected snapshot goroutine polls), so
//     that a profile from the stall's start exists even if the binary then crawls;
//   - when the thrash has lasted `after`, SIGKILLs the running test binary, and only
//     it (the largest of those whose exec wrappers left pids in exec/<pkg>.pid), then
//     starts watching afresh: the GC lines and the
//     cgroup samples are already on disk as they come, and go test reports the binary
//     as killed and goes on with the rest of the shard, as after an OOM kill.
// The first stall is kept for result.json (evidence::MemoryStallRecord).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/evidence/evidence.h"
#include "sandbox/memory_stall.h"

namespace gotestrun::agent {

// exec/<pkg>.pid: "<pid>\t<import path>\n", written by the exec wrapper once the binary
// runs and removed when it has ended.
std::string RunningBinaryFile(const evidence::AttemptLayout& layout, std::string_view import_path);
std::string FormatRunningBinary(int pid, std::string_view import_path);
struct RunningBinary {
  int pid = 0;
  std::string package;
};
std::optional<RunningBinary> ParseRunningBinary(std::string_view text);
// The binaries whose pid files are in the attempt's exec/ folder.
std::vector<RunningBinary> RunningBinaries(const evidence::AttemptLayout& layout);

// The file that asks the snapshot goroutine of heap/<pkg>/ for a profile now.
inline constexpr std::string_view kHeapSnapshotNowFile = "snapshot-now";

class MemoryStallWatch {
 public:
  // `cgroup_dir` and `v2`: where the counters are; an empty dir or `after` of 0 makes
  // the watch do nothing.
  MemoryStallWatch(evidence::AttemptLayout layout, std::string cgroup_dir, bool v2, std::chrono::milliseconds after);

  void Sample(std::int64_t unix_ms, std::uint64_t usage_bytes, std::optional<std::uint64_t> limit_bytes);

  // The first stall ended, for result.json; running_tests and phase are for the caller
  // to fill from the stream once go test has ended.
  const std::optional<evidence::MemoryStallRecord>& record() const { return record_; }

 private:
  void RequestHeapProfiles();
  void EndStall(const sandbox::StallFigures& figures, std::int64_t now_ms);

  evidence::AttemptLayout layout_;
  std::string cgroup_dir_;
  bool v2_ = false;
  std::chrono::milliseconds after_;
  sandbox::StallDetector detector_;
  bool thrashing_ = false;
  // The newest profile of each package when the thrash began: the one to name is the
  // next one written.
  std::vector<std::pair<std::string, std::uint64_t>> profiles_at_thrash_;
  std::optional<evidence::MemoryStallRecord> record_;
};

}  // namespace gotestrun::agent
