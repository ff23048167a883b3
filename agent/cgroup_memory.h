// The memory of the cgroup this process runs in: in a Pod, the test container's; under
// the local runner, the attempt's. Found from /proc/self/cgroup and
// /proc/self/mountinfo, for cgroup v2 (memory.current, memory.max, memory.peak,
// memory.events) and v1 (memory.usage_in_bytes, memory.limit_in_bytes,
// memory.max_usage_in_bytes, memory.oom_control).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gotestrun::agent {

enum class CgroupVersion { kV1, kV2 };

struct MemoryCgroup {
  CgroupVersion version = CgroupVersion::kV2;
  std::string dir;  // the cgroup's folder in the mounted hierarchy
  friend bool operator==(const MemoryCgroup&, const MemoryCgroup&) = default;
};

// Where this process's memory cgroup could be, from the text of /proc/self/cgroup and
// /proc/self/mountinfo, v2 first: on a hybrid host the unified hierarchy is mounted
// without the memory controller, and only reading its files tells (CgroupMemory::Open).
// A cgroup path outside the mount's root (a cgroup namespace shows "/" for its own
// root, or the mount is the container's own cgroup) resolves to the mount point.
std::vector<MemoryCgroup> MemoryCgroupCandidates(std::string_view proc_self_cgroup, std::string_view mountinfo);

// A limit file's content: nullopt for "max" (v2) or the v1 "no limit" value (anything
// at or above 2^62), InvalidArgument for something else.
StatusOr<std::optional<std::uint64_t>> ParseMemoryLimit(std::string_view text);
// The value of `key` in a "key value" per line file (memory.events, memory.oom_control).
std::optional<std::uint64_t> ParseKeyedValue(std::string_view text, std::string_view key);

struct MemoryUsage {
  std::uint64_t usage_bytes = 0;
  std::optional<std::uint64_t> limit_bytes;  // nullopt: unlimited or unreadable
};

class CgroupMemory {
 public:
  // The first candidate whose usage file reads, or nullopt when none does.
  static std::optional<CgroupMemory> Discover();
  // NotFound/FailedPrecondition when the usage file cannot be read.
  static StatusOr<CgroupMemory> Open(MemoryCgroup cgroup);

  const MemoryCgroup& cgroup() const { return cgroup_; }
  // "cgroup2<TAB><dir>" or "cgroup1<TAB><dir>", as memory.tsv's header says it.
  std::string Source() const;

  StatusOr<MemoryUsage> Read() const;
  // The cgroup's own high-water mark (v2 memory.peak, kernels 5.19+; v1
  // memory.max_usage_in_bytes), nullopt where there is none.
  std::optional<std::uint64_t> Peak() const;
  // OOM kills in the cgroup so far (v2 memory.events oom_kill; v1 memory.oom_control
  // oom_kill, kernels 4.13+), nullopt where the kernel does not count them.
  std::optional<std::uint64_t> OomKills() const;

 private:
  explicit CgroupMemory(MemoryCgroup cgroup) : cgroup_(std::move(cgroup)) {}
  std::string File(std::string_view v2_name, std::string_view v1_name) const;

  MemoryCgroup cgroup_;
};

}  // namespace gotestrun::agent
