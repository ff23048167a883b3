// How much of this machine the shards of a local run may hold at once.
//
// In a cluster the scheduler places each shard's Pod where its memory request fits.
// On one machine nobody does: shards started together whose limits add up to more
// than the machine has do not fail cleanly at their limits, they push the machine into
// reclaim and swap, and every shard crawls (or the host's OOM killer picks one). And
// every shard is a go command that compiles and runs test binaries on all CPUs, so
// more of them than there are CPUs only makes each slower while they all hold memory.
//
// So a shard attempt starts only when the limits of the attempts running, its own
// added, stay within the memory available to this process (MemAvailable, and the
// room left in the memory cgroup it runs in), and fewer go commands run than this
// process has CPUs. One attempt always may start when none runs: a limit above the
// machine's memory is the user's to give, and waiting would never end.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace gotestrun::cli {

struct MachineBudget {
  std::uint64_t memory_bytes = 0;  // the sum of running limits may not pass it
  int go_commands = 1;             // shard attempts running at once, at most
  std::string source;              // for people: where the figures came from
};

// MemAvailable from /proc/meminfo's text, in bytes.
std::optional<std::uint64_t> ParseMemAvailable(std::string_view meminfo);

// The pure part: `memory_available` from /proc/meminfo, the cgroup's limit and usage
// where there is a limit, the CPUs this process may run on, and the user's override.
MachineBudget BudgetOf(std::optional<std::uint64_t> memory_available, std::optional<std::uint64_t> cgroup_limit,
                       std::uint64_t cgroup_usage, int cpus, std::optional<std::uint64_t> override_bytes);

// Reads the figures of this machine and this process.
MachineBudget ReadMachineBudget(std::optional<std::uint64_t> override_bytes);

// Whether an attempt limited to `limit` may start beside the running ones.
bool MayStart(const MachineBudget& budget, std::span<const std::uint64_t> running_limits, std::uint64_t limit);

}  // namespace gotestrun::cli
