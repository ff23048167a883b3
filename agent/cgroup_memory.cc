#include "agent/cgroup_memory.h"

#include <charconv>
#include <utility>

#include "base/files.h"

namespace gotestrun::agent {
namespace {

// cgroup files are tiny; a larger read means a wrong path.
constexpr std::size_t kMaxCgroupFileBytes = 64 * 1024;
// v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes, just under 2^63.
constexpr std::uint64_t kV1Unlimited = 1ULL << 62;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const std::size_t at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

template <typename F>
void ForEachLine(std::string_view text, F&& f) {
  for (std::string_view line : Split(text, '\n')) {
    if (!line.empty()) f(line);
  }
}

std::optional<std::uint64_t> ParseU64(std::string_view s) {
  s = Trim(s);
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string UnescapeMountPath(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const char a = s[i + 1], b = s[i + 2], c = s[i + 3];
      if (a >= '0' && a <= '3' && b >= '0' && b <= '7' && c >= '0' && c <= '7') {
        out += static_cast<char>((a - '0') * 64 + (b - '0') * 8 + (c - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

struct Mount {
  std::string root;         // the part of the hierarchy mounted here
  std::string mount_point;
  std::string fstype;
  std::vector<std::string> super_options;
};

std::vector<Mount> CgroupMounts(std::string_view mountinfo) {
  std::vector<Mount> mounts;
  ForEachLine(mountinfo, [&](std::string_view line) {
    const std::vector<std::string_view> fields = Split(line, ' ');
    std::size_t dash = 0;
    for (std::size_t i = 6; i < fields.size(); ++i) {
      if (fields[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 1 >= fields.size()) return;
    Mount m;
    m.fstype = std::string(fields[dash + 1]);
    if (m.fstype != "cgroup" && m.fstype != "cgroup2") return;
    m.root = UnescapeMountPath(fields[3]);
    m.mount_point = UnescapeMountPath(fields[4]);
    if (dash + 3 < fields.size()) {
      for (std::string_view opt : Split(fields[dash + 3], ',')) m.super_options.emplace_back(opt);
    }
    mounts.push_back(std::move(m));
  });
  return mounts;
}

// The folder of cgroup `path` under a mount of its hierarchy.
std::string Resolve(const Mount& mount, std::string_view path) {
  std::string_view root = mount.root;
  if (root == "/") root = "";
  if (path.starts_with(root) && (path.size() == root.size() || path[root.size()] == '/')) {
    path.remove_prefix(root.size());
  } else {
    path = "";
  }
  if (path == "/") path = "";
  std::string dir = mount.mount_point;
  if (dir == "/" && !path.empty()) dir.clear();
  return dir + std::string(path);
}

bool HasOption(const Mount& m, std::string_view option) {
  for (const std::string& o : m.super_options) {
    if (o == option) return true;
  }
  return false;
}

}  // namespace

std::vector<MemoryCgroup> MemoryCgroupCandidates(std::string_view proc_self_cgroup, std::string_view mountinfo) {
  std::optional<std::string> v2_path, v1_path;
  ForEachLine(proc_self_cgroup, [&](std::string_view line) {
    // hierarchy-ID:controller-list:cgroup-path; the path may itself contain ':'.
    const std::size_t first = line.find(':');
    if (first == std::string_view::npos) return;
    const std::size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) return;
    const std::string_view id = line.substr(0, first);
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string_view path = Trim(line.substr(second + 1));
    if (path.ends_with(" (deleted)")) path.remove_suffix(10);
    if (id == "0" && controllers.empty()) {
      if (!v2_path) v2_path = std::string(path);
      return;
    }
    for (std::string_view c : Split(controllers, ',')) {
      if (c == "memory" && !v1_path) v1_path = std::string(path);
    }
  });

  std::vector<MemoryCgroup> candidates;
  const std::vector<Mount> mounts = CgroupMounts(mountinfo);
  if (v2_path) {
    for (const Mount& m : mounts) {
      if (m.fstype == "cgroup2") {
        candidates.push_back({CgroupVersion::kV2, Resolve(m, *v2_path)});
        break;
      }
    }
  }
  if (v1_path) {
    for (const Mount& m : mounts) {
      if (m.fstype == "cgroup" && HasOption(m, "memory")) {
        candidates.push_back({CgroupVersion::kV1, Resolve(m, *v1_path)});
        break;
      }
    }
  }
  return candidates;
}

StatusOr<std::optional<std::uint64_t>> ParseMemoryLimit(std::string_view text) {
  text = Trim(text);
  if (text == "max") return std::optional<std::uint64_t>();
  const std::optional<std::uint64_t> v = ParseU64(text);
  if (!v) return InvalidArgumentError("memory limit: \"" + std::string(text) + "\"");
  if (*v >= kV1Unlimited) return std::optional<std::uint64_t>();
  return v;
}

std::optional<std::uint64_t> ParseKeyedValue(std::string_view text, std::string_view key) {
  std::optional<std::uint64_t> value;
  ForEachLine(text, [&](std::string_view line) {
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos || line.substr(0, space) != key) return;
    if (!value) value = ParseU64(line.substr(space + 1));
  });
  return value;
}

std::optional<CgroupMemory> CgroupMemory::Discover() {
  const StatusOr<std::string> cgroup = ReadFile("/proc/self/cgroup", kMaxCgroupFileBytes);
  const StatusOr<std::string> mountinfo = ReadFile("/proc/self/mountinfo", 4 << 20);
  if (!cgroup.ok() || !mountinfo.ok()) return std::nullopt;
  for (MemoryCgroup& candidate : MemoryCgroupCandidates(*cgroup, *mountinfo)) {
    StatusOr<CgroupMemory> opened = Open(std::move(candidate));
    if (opened.ok()) return std::move(opened).value();
  }
  return std::nullopt;
}

StatusOr<CgroupMemory> CgroupMemory::Open(MemoryCgroup cgroup) {
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
  const StatusOr<std::string> usage_text = ReadFile(usage_path, kMaxCgroupFileBytes);
  if (!usage_text.ok()) return usage_text.status();
  const std::optional<std::uint64_t> usage = ParseU64(*usage_text);
  if (!usage) return DataLossError(usage_path + ": \"" + std::string(Trim(*usage_text)) + "\" is not a number");
  MemoryUsage out{.usage_bytes = *usage};
  if (const StatusOr<std::string> limit = ReadFile(File("memory.max", "memory.limit_in_bytes"), kMaxCgroupFileBytes);
      limit.ok()) {
    if (auto parsed = ParseMemoryLimit(*limit); parsed.ok()) out.limit_bytes = *parsed;
  }
  return out;
}

std::optional<std::uint64_t> CgroupMemory::Peak() const {
  const StatusOr<std::string> text = ReadFile(File("memory.peak", "memory.max_usage_in_bytes"), kMaxCgroupFileBytes);
  if (!text.ok()) return std::nullopt;
  return ParseU64(*text);
}

std::optional<std::uint64_t> CgroupMemory::OomKills() const {
  const StatusOr<std::string> text = ReadFile(File("memory.events", "memory.oom_control"), kMaxCgroupFileBytes);
  if (!text.ok()) return std::nullopt;
  return ParseKeyedValue(*text, "oom_kill");
}

}  // namespace gotestrun::agent
