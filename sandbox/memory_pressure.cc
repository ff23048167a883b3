#include "sandbox/memory_pressure.h"

#include <charconv>
#include <cstdlib>

#include "base/files.h"

namespace gotestrun::sandbox {
namespace {

// memory.stat has ~50 short lines; more means a wrong path.
constexpr std::size_t kMaxFileBytes = 64 * 1024;

std::optional<std::uint64_t> ParseU64(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(std::string_view s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  const std::string copy(s);
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !(v >= 0)) return std::nullopt;
  return v;
}

template <typename F>
void ForEachLine(std::string_view text, F&& f) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    if (!line.empty()) f(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

std::optional<std::uint64_t> Sum(const std::optional<std::uint64_t>& a, const std::optional<std::uint64_t>& b) {
  if (!a && !b) return std::nullopt;
  return a.value_or(0) + b.value_or(0);
}

}  // namespace

void ParseMemoryStat(std::string_view text, bool v1, PressureCounters& counters) {
  const std::string prefix = v1 ? "total_" : "";
  std::optional<std::uint64_t> major, refault, refault_anon, refault_file;
  ForEachLine(text, [&](std::string_view line) {
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) return;
    std::string_view key = line.substr(0, space);
    if (!key.starts_with(prefix)) return;
    key.remove_prefix(prefix.size());
    const std::optional<std::uint64_t> value = ParseU64(line.substr(space + 1));
    if (!value) return;
    if (key == "pgmajfault") major = value;
    if (key == "workingset_refault") refault = value;
    if (key == "workingset_refault_anon") refault_anon = value;
    if (key == "workingset_refault_file") refault_file = value;
  });
  counters.major_faults = major;
  // Since 5.9 the kernel splits refaults into anon and file and drops the sum.
  counters.refaults = refault_anon || refault_file ? Sum(refault_anon, refault_file) : refault;
}

void ParseMemoryPressure(std::string_view text, PressureCounters& counters) {
  ForEachLine(text, [&](std::string_view line) {
    const bool some = line.starts_with("some ");
    const bool full = line.starts_with("full ");
    if (!some && !full) return;
    std::optional<double> avg10;
    std::optional<std::uint64_t> total;
    std::string_view rest = line.substr(5);
    while (!rest.empty()) {
      const std::size_t space = rest.find(' ');
      const std::string_view field = rest.substr(0, space);
      if (field.starts_with("avg10=")) avg10 = ParseDouble(field.substr(6));
      if (field.starts_with("total=")) total = ParseU64(field.substr(6));
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
    (some ? counters.some_avg10 : counters.full_avg10) = avg10;
    (some ? counters.some_stall_us : counters.full_stall_us) = total;
  });
}

PressureCounters ReadPressureCounters(const std::string& dir, bool v2) {
  PressureCounters counters;
  if (StatusOr<std::string> stat = ReadFile(dir + "/memory.stat", kMaxFileBytes); stat.ok()) {
    ParseMemoryStat(*stat, !v2, counters);
  }
  if (v2) {
    if (StatusOr<std::string> events = ReadFile(dir + "/memory.events", kMaxFileBytes); events.ok()) {
      ForEachLine(*events, [&](std::string_view line) {
        if (line.starts_with("max ")) counters.fail_count = ParseU64(line.substr(4));
      });
    }
    if (StatusOr<std::string> pressure = ReadFile(dir + "/memory.pressure", kMaxFileBytes); pressure.ok()) {
      ParseMemoryPressure(*pressure, counters);
    }
  } else {
    // With a swap limit too (memory.memsw.limit_in_bytes) the kernel counts the hits of
    // that limit in memsw.failcnt instead: either is the limit being hit.
    for (const char* name : {"/memory.failcnt", "/memory.memsw.failcnt"}) {
      StatusOr<std::string> text = ReadFile(dir + name, kMaxFileBytes);
      const std::optional<std::uint64_t> hits = text.ok() ? ParseU64(*text) : std::nullopt;
      if (hits) counters.fail_count = counters.fail_count.value_or(0) + *hits;
    }
  }
  return counters;
}

}  // namespace gotestrun::sandbox
