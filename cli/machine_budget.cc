#include "cli/machine_budget.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <thread>

#include "base/files.h"
#include "core/policy/quantity.h"
#include "sandbox/cgroup.h"

namespace gotestrun::cli {

std::optional<std::uint64_t> ParseMemAvailable(std::string_view meminfo) {
  constexpr std::string_view kKey = "MemAvailable:";
  std::size_t at = meminfo.find(kKey);
  if (at == std::string_view::npos || (at > 0 && meminfo[at - 1] != '\n')) return std::nullopt;
  std::string_view rest = meminfo.substr(at + kKey.size());
  rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
  std::uint64_t kib = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kib);
  if (ec != std::errc() || end == rest.data()) return std::nullopt;
  std::string_view unit(end, static_cast<std::size_t>(rest.data() + rest.size() - end));
  if (!unit.starts_with(" kB")) return std::nullopt;
  if (kib > UINT64_MAX / 1024) return std::nullopt;
  return kib * 1024;
}

MachineBudget BudgetOf(std::optional<std::uint64_t> memory_available, std::optional<std::uint64_t> cgroup_limit,
                       std::uint64_t cgroup_usage, int cpus, std::optional<std::uint64_t> override_bytes) {
  MachineBudget budget;
  budget.go_commands = std::max(1, cpus);
  std::string cpu_text = std::to_string(budget.go_commands) + (budget.go_commands == 1 ? " CPU" : " CPUs");
  if (override_bytes) {
    budget.memory_bytes = *override_bytes;
    budget.source = policy::FormatMemoryQuantity(*override_bytes) + " (--machine-memory), " + cpu_text;
    return budget;
  }
  // Unknown memory bounds nothing: the CPU bound still holds.
  budget.memory_bytes = memory_available.value_or(UINT64_MAX);
  budget.source = memory_available ? policy::FormatMemoryApprox(*memory_available) + " available" : "memory unknown";
  if (cgroup_limit) {
    std::uint64_t room = *cgroup_limit > cgroup_usage ? *cgroup_limit - cgroup_usage : 0;
    if (room < budget.memory_bytes) {
      budget.memory_bytes = room;
      budget.source = policy::FormatMemoryApprox(room) + " left under this process's cgroup limit of " +
                      policy::FormatMemoryApprox(*cgroup_limit);
    }
  }
  budget.source += ", " + cpu_text;
  return budget;
}

MachineBudget ReadMachineBudget(std::optional<std::uint64_t> override_bytes) {
  std::optional<std::uint64_t> available;
  if (StatusOr<std::string> meminfo = ReadFile("/proc/meminfo", 1 << 20); meminfo.ok()) {
    available = ParseMemAvailable(*meminfo);
  }
  std::optional<std::uint64_t> limit;
  std::uint64_t usage = 0;
  if (std::optional<sandbox::CgroupMemory> own = sandbox::CgroupMemory::Discover()) {
    if (StatusOr<sandbox::MemoryUsage> read = own->Read(); read.ok()) {
      limit = read->limit_bytes;
      usage = read->usage_bytes;
    }
  }
  // The CPUs this process may run on (taskset, a cpuset), not the machine's.
  int cpus = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  return BudgetOf(available, limit, usage, cpus, override_bytes);
}

bool MayStart(const MachineBudget& budget, std::span<const std::uint64_t> running_limits, std::uint64_t limit) {
  if (running_limits.empty()) return true;
  if (running_limits.size() >= static_cast<std::size_t>(budget.go_commands)) return false;
  std::uint64_t held = limit;
  for (std::uint64_t l : running_limits) held = held > UINT64_MAX - l ? UINT64_MAX : held + l;
  return held <= budget.memory_bytes;
}

}  // namespace gotestrun::cli
