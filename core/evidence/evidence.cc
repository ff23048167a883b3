#include "core/evidence/evidence.h"

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/hash.h"
#include "core/policy/plan.h"

namespace gotestrun::evidence {
namespace {

using nlohmann::json;

bool KeptByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The length of the part kept before "~<16 hex>" in a shortened name.
constexpr std::size_t kShortenedPrefix = kMaxEscapedPackageBytes - 17;

template <typename T>
bool ParseNumber(std::string_view text, T& value) {
  if (text.empty()) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Splits on tabs; a trailing "\n" (or "\r\n") is dropped first.
std::vector<std::string_view> SplitTabs(std::string_view line) {
  if (line.ends_with('\n')) line.remove_suffix(1);
  if (line.ends_with('\r')) line.remove_suffix(1);
  std::vector<std::string_view> fields;
  for (;;) {
    const std::size_t tab = line.find('\t');
    fields.push_back(line.substr(0, tab));
    if (tab == std::string_view::npos) break;
    line.remove_prefix(tab + 1);
  }
  return fields;
}

// Calls `on_line` for each whole line ("\n"-terminated); the rest is a cut line.
template <typename F>
bool ForEachWholeLine(std::string_view text, F&& on_line) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return false;  // a cut last line
    on_line(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return true;
}

// A field of the right name but the wrong kind; caught in Decode like the library's own.
struct FieldError {
  std::string message;
};

json OptionalNumber(const std::optional<std::uint64_t>& v) { return v ? json(*v) : json(nullptr); }

// nlohmann converts -5 to a huge unsigned number; byte counts must not be negative.
std::uint64_t AsU64(const json& value, const char* name) {
  if (!value.is_number_unsigned()) throw FieldError{std::string(name) + ": want a non-negative integer"};
  return value.get<std::uint64_t>();
}

std::optional<std::uint64_t> GetOptionalU64(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return AsU64(*it, name);
}

std::vector<std::string> GetStrings(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return {};
  return it->get<std::vector<std::string>>();
}

template <typename T>
T Get(const json& object, const char* name, T fallback) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return fallback;
  if constexpr (std::is_same_v<T, std::uint64_t>) {
    return AsU64(*it, name);
  } else {
    return it->get<T>();
  }
}

// Parses JSON and decodes it with `decode`, turning every exception into a Status.
template <typename T, typename F>
StatusOr<T> Decode(std::string_view text, std::string_view what, F&& decode) {
  try {
    const json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) return InvalidArgumentError(std::string(what) + ": not JSON");
    return decode(value);
  } catch (const json::exception& e) {
    return InvalidArgumentError(std::string(what) + ": " + e.what());
  } catch (const FieldError& e) {
    return InvalidArgumentError(std::string(what) + ": " + e.message);
  }
}

json BinaryEndToJson(const BinaryEnd& end) {
  return json{{"exitCode", end.exit_code},
              {"signal", end.signal},
              {"coreDumped", end.core_dumped},
              {"maxRssBytes", end.max_rss_bytes}};
}

BinaryEnd BinaryEndFromJson(const json& object) {
  BinaryEnd end;
  end.exit_code = Get<int>(object, "exitCode", -1);
  end.signal = Get<int>(object, "signal", 0);
  end.core_dumped = Get<bool>(object, "coreDumped", false);
  end.max_rss_bytes = Get<std::uint64_t>(object, "maxRssBytes", 0);
  return end;
}

std::string_view BuildPhaseJsonName(gotest::BuildPhase phase) {
  return phase == gotest::BuildPhase::kUnknown ? std::string_view() : gotest::BuildPhaseName(phase);
}

gotest::BuildPhase BuildPhaseFromJsonName(std::string_view name) {
  for (gotest::BuildPhase phase : {gotest::BuildPhase::kSetup, gotest::BuildPhase::kCompile, gotest::BuildPhase::kLink,
                                   gotest::BuildPhase::kVet}) {
    if (gotest::BuildPhaseName(phase) == name) return phase;
  }
  return gotest::BuildPhase::kUnknown;
}

constexpr std::array kOutcomes{
    gotest::PackageOutcome::kPass,        gotest::PackageOutcome::kFail,   gotest::PackageOutcome::kSkip,
    gotest::PackageOutcome::kBuildFailed, gotest::PackageOutcome::kKilled, gotest::PackageOutcome::kNoResult,
};

}  // namespace

std::string EscapePackage(std::string_view import_path) {
  std::string out;
  out.reserve(import_path.size());
  for (std::size_t i = 0; i < import_path.size(); ++i) {
    const char c = import_path[i];
    if (c == '/') {
      out += '_';
    } else if (KeptByte(c) && !(i == 0 && c == '.')) {
      out += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
      out += hex;
    }
  }
  if (out.empty()) return "%";  // not producible otherwise, and never a valid escape
  if (out.size() > kMaxEscapedPackageBytes) {
    char hash[18];
    std::snprintf(hash, sizeof hash, "~%016llx", static_cast<unsigned long long>(Fnv1a64(import_path)));
    out.resize(kShortenedPrefix);
    out += hash;
  }
  return out;
}

StatusOr<std::string> UnescapePackage(std::string_view name) {
  if (name.find('~') != std::string_view::npos) {
    return InvalidArgumentError("package name " + std::string(name) +
                                " is shortened; its import path is in the JSON files");
  }
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '_') {
      out += '/';
    } else if (c == '%') {
      if (i + 2 >= name.size()) {
        return InvalidArgumentError("package name " + std::string(name) + ": cut escape");
      }
      const int hi = HexValue(name[i + 1]);
      const int lo = HexValue(name[i + 2]);
      if (hi < 0 || lo < 0) return InvalidArgumentError("package name " + std::string(name) + ": bad escape");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (KeptByte(c) && !(i == 0 && c == '.')) {
      out += c;
    } else {
      return InvalidArgumentError("package name " + std::string(name) + ": unexpected byte");
    }
  }
  if (out.empty()) return InvalidArgumentError("empty package name");
  return out;
}

Status AttemptLayout::Create() const {
  if (dir_.empty()) return InvalidArgumentError("empty attempt folder");
  // Each prefix that ends before a '/' is a parent; the folder itself comes last.
  for (std::size_t slash = dir_.find('/', 1);; slash = dir_.find('/', slash + 1)) {
    const std::string parent = dir_.substr(0, slash);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      return FailedPreconditionError("mkdir " + parent + ": " + std::strerror(errno));
    }
    if (slash == std::string::npos) break;
  }
  for (const std::string& sub : {exec_dir(), gctrace_dir(), heap_root(), overlay_dir()}) {
    if (::mkdir(sub.c_str(), 0755) != 0 && errno != EEXIST) {
      return FailedPreconditionError("mkdir " + sub + ": " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

std::string AttemptLayout::gctrace(std::string_view import_path) const {
  return gctrace_dir() + "/" + EscapePackage(import_path) + ".log";
}

std::string AttemptLayout::heap_dir(std::string_view import_path) const {
  return heap_root() + "/" + EscapePackage(import_path);
}

std::string AttemptLayout::exec_record(std::string_view import_path) const {
  return exec_dir() + "/" + EscapePackage(import_path) + ".json";
}

std::string RunLayout::attempt_dir(int shard, int attempt) const { return dir_ + "/" + AttemptName(shard, attempt); }

std::string AttemptName(int shard, int attempt) { return policy::AttemptLabel(shard, attempt); }

namespace {
std::optional<int> FolderNumber(std::string_view name, char prefix) {
  // Only the form AttemptName writes ("s1", not "s01"), so a folder name round-trips.
  if (name.size() < 2 || name.size() > 10 || name[0] != prefix || (name[1] == '0' && name.size() > 2)) {
    return std::nullopt;
  }
  int value = 0;
  if (!ParseNumber(name.substr(1), value) || value < 0) return std::nullopt;
  return value;
}
}  // namespace

std::optional<int> ShardOfFolderName(std::string_view name) { return FolderNumber(name, 's'); }
std::optional<int> AttemptOfFolderName(std::string_view name) { return FolderNumber(name, 'a'); }

RunLayout VolumeRunLayout(std::string_view root, std::string_view ns, std::string_view run) {
  return RunLayout(std::string(root) + "/" + std::string(ns) + "/" + std::string(run));
}

std::string HeapProfileName(std::uint64_t seq) {
  char name[32];
  std::snprintf(name, sizeof name, "%04llu.pb.gz", static_cast<unsigned long long>(seq));
  return name;
}

std::string EncodePackageListings(const std::vector<PackageListing>& packages) {
  json out = json::array();
  for (const PackageListing& p : packages) {
    json item{{"importPath", p.import_path},
              {"name", p.name},
              {"dir", p.dir},
              {"hasTests", p.has_tests()},
              {"testGoFiles", p.test_go_files},
              {"xTestGoFiles", p.x_test_go_files}};
    if (p.top_level_tests) item["topLevelTests"] = *p.top_level_tests;
    if (!p.error.empty()) item["error"] = p.error;
    out.push_back(std::move(item));
  }
  return out.dump(2) + "\n";
}

StatusOr<std::vector<PackageListing>> DecodePackageListings(std::string_view text) {
  using Listings = std::vector<PackageListing>;
  return Decode<Listings>(text, "package listing", [](const json& value) -> StatusOr<Listings> {
    if (!value.is_array()) return InvalidArgumentError("package listing: not a JSON array");
    std::vector<PackageListing> packages;
    for (const json& item : value) {
      PackageListing p;
      p.import_path = Get<std::string>(item, "importPath", "");
      p.name = Get<std::string>(item, "name", "");
      p.dir = Get<std::string>(item, "dir", "");
      p.test_go_files = GetStrings(item, "testGoFiles");
      p.x_test_go_files = GetStrings(item, "xTestGoFiles");
      // A count that is not a plausible one is no count.
      if (const auto tests = item.find("topLevelTests");
          tests != item.end() && tests->is_number_unsigned() && tests->get<std::uint64_t>() <= kMaxTopLevelTests) {
        p.top_level_tests = static_cast<int>(tests->get<std::uint64_t>());
      }
      p.error = Get<std::string>(item, "error", "");
      packages.push_back(std::move(p));
    }
    return packages;
  });
}

std::string EncodeExecRecord(const ExecRecord& record) {
  json out{{"package", record.package},
           {"argv", record.argv},
           {"startUnixMs", record.start_unix_ms},
           {"endUnixMs", record.end_unix_ms},
           {"exitCode", record.end.exit_code},
           {"signal", record.end.signal},
           {"coreDumped", record.end.core_dumped},
           {"maxRssBytes", record.end.max_rss_bytes},
           {"gomemlimit", OptionalNumber(record.gomemlimit)}};
  if (!record.error.empty()) out["error"] = record.error;
  return out.dump(2) + "\n";
}

StatusOr<ExecRecord> DecodeExecRecord(std::string_view text) {
  return Decode<ExecRecord>(text, "exec record", [](const json& value) -> StatusOr<ExecRecord> {
    if (!value.is_object()) return InvalidArgumentError("exec record: not a JSON object");
    ExecRecord r;
    r.package = Get<std::string>(value, "package", "");
    if (r.package.empty()) return InvalidArgumentError("exec record: no package");
    r.argv = GetStrings(value, "argv");
    r.start_unix_ms = Get<std::int64_t>(value, "startUnixMs", 0);
    r.end_unix_ms = Get<std::int64_t>(value, "endUnixMs", 0);
    r.end = BinaryEndFromJson(value);
    r.gomemlimit = GetOptionalU64(value, "gomemlimit");
    r.error = Get<std::string>(value, "error", "");
    return r;
  });
}

std::string EncodeBuildRecord(const BuildRecord& record) {
  json out{{"event", record.event == BuildEvent::kEnd ? "end" : "start"},
           {"tool", record.tool},
           {"package", record.package},
           {"importPath", record.import_path},
           {"pid", record.pid},
           {"startUnixMs", record.start_unix_ms}};
  if (record.event == BuildEvent::kEnd) {
    out["endUnixMs"] = record.end_unix_ms;
    out.update(BinaryEndToJson(record.end));
  }
  // One line whatever the names hold: dump() escapes control characters.
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

StatusOr<BuildRecord> DecodeBuildRecord(std::string_view line) {
  if (line.ends_with('\n')) line.remove_suffix(1);
  return Decode<BuildRecord>(line, "build record", [](const json& value) -> StatusOr<BuildRecord> {
    if (!value.is_object()) return InvalidArgumentError("build record: not a JSON object");
    BuildRecord r;
    const std::string event = Get<std::string>(value, "event", "");
    if (event == "start") {
      r.event = BuildEvent::kStart;
    } else if (event == "end") {
      r.event = BuildEvent::kEnd;
    } else {
      return InvalidArgumentError("build record: event \"" + event + "\"");
    }
    r.tool = Get<std::string>(value, "tool", "");
    r.package = Get<std::string>(value, "package", "");
    if (r.tool.empty() || r.package.empty()) return InvalidArgumentError("build record: no tool or package");
    r.import_path = Get<std::string>(value, "importPath", "");
    r.pid = Get<std::int64_t>(value, "pid", 0);
    r.start_unix_ms = Get<std::int64_t>(value, "startUnixMs", 0);
    if (r.event == BuildEvent::kEnd) {
      r.end_unix_ms = Get<std::int64_t>(value, "endUnixMs", 0);
      r.end = BinaryEndFromJson(value);
    }
    return r;
  });
}

std::string BuildPackageOf(std::string_view import_path) {
  constexpr std::string_view kTest = ".test";
  if (const std::size_t open = import_path.find(" ["); open != std::string_view::npos && import_path.ends_with(']')) {
    std::string_view owner = import_path.substr(open + 2, import_path.size() - open - 3);
    if (owner.ends_with(kTest) && owner.size() > kTest.size()) owner.remove_suffix(kTest.size());
    return std::string(owner);
  }
  if (import_path.ends_with(kTest) && import_path.size() > kTest.size()) import_path.remove_suffix(kTest.size());
  return std::string(import_path);
}

BuildLog ParseBuildLog(std::string_view text) {
  BuildLog log;
  // pid -> the step it started that has not ended yet (pids are reused over a long build).
  std::map<std::int64_t, std::size_t> open;
  const bool whole = ForEachWholeLine(text, [&](std::string_view line) {
    StatusOr<BuildRecord> r = DecodeBuildRecord(line);
    if (!r.ok()) {
      ++log.malformed_lines;
      return;
    }
    if (r->event == BuildEvent::kStart) {
      open[r->pid] = log.steps.size();
      log.steps.push_back(BuildStep{.tool = r->tool,
                                    .package = r->package,
                                    .import_path = r->import_path,
                                    .pid = r->pid,
                                    .start_unix_ms = r->start_unix_ms});
      return;
    }
    BuildStep* step = nullptr;
    if (const auto it = open.find(r->pid); it != open.end()) {
      BuildStep& candidate = log.steps[it->second];
      if (candidate.tool == r->tool && candidate.package == r->package) step = &candidate;
      open.erase(it);
    }
    if (step == nullptr) {
      log.steps.push_back(BuildStep{.tool = r->tool,
                                    .package = r->package,
                                    .import_path = r->import_path,
                                    .pid = r->pid,
                                    .start_unix_ms = r->start_unix_ms});
      step = &log.steps.back();
    }
    step->end_unix_ms = r->end_unix_ms;
    step->end = r->end;
  });
  if (!whole) ++log.malformed_lines;
  return log;
}

std::string_view PackageOutcomeJsonName(gotest::PackageOutcome outcome) {
  // A package still running when the result is written never got one.
  if (outcome == gotest::PackageOutcome::kRunning) outcome = gotest::PackageOutcome::kNoResult;
  return gotest::PackageOutcomeName(outcome);
}

std::optional<gotest::PackageOutcome> PackageOutcomeFromJsonName(std::string_view name) {
  for (gotest::PackageOutcome outcome : kOutcomes) {
    if (gotest::PackageOutcomeName(outcome) == name) return outcome;
  }
  return std::nullopt;
}

std::string EncodeAttemptResult(const AttemptResult& result) {
  json packages = json::array();
  for (const PackageRecord& p : result.packages) {
    packages.push_back(json{
        {"package", p.package},
        {"outcome", PackageOutcomeJsonName(p.outcome)},
        {"elapsedSeconds", p.elapsed_seconds ? json(*p.elapsed_seconds) : json(nullptr)},
        {"runningTests", p.running_tests},
        {"failedTests", p.failed_tests},
        {"timedOut", p.timed_out},
        {"binary", p.binary ? BinaryEndToJson(*p.binary) : json(nullptr)},
        {"buildPhase", BuildPhaseJsonName(p.build_phase)},
        {"gcPeakHeapBytes", OptionalNumber(p.gc_peak_heap_bytes)},
    });
  }
  json out{{"version", result.version},
           {"goTestArgv", result.go_test_argv},
           {"goTestExitCode", result.go_test_exit_code},
           {"goTestSignal", result.go_test_signal},
           {"startUnixMs", result.start_unix_ms},
           {"endUnixMs", result.end_unix_ms},
           {"memorySource", result.memory_source},
           {"limitBytes", OptionalNumber(result.limit_bytes)},
           {"peakBytes", OptionalNumber(result.peak_bytes)},
           {"oomKillsSeen", OptionalNumber(result.oom_kills_seen)},
           {"error", result.error},
           {"packages", std::move(packages)}};
  if (result.memory_stall) {
    const MemoryStallRecord& m = *result.memory_stall;
    out["memoryStall"] = json{
        {"outcome", kMemoryStallOutcome},  {"package", m.package},           {"phase", m.phase},
        {"runningTests", m.running_tests}, {"sinceUnixMs", m.since_unix_ms}, {"detectedUnixMs", m.detected_unix_ms},
        {"endedUnixMs", m.ended_unix_ms},  {"limitBytes", m.limit_bytes},    {"evidence", m.evidence},
        {"heapProfile", m.heap_profile}};
  }
  return out.dump(2) + "\n";
}

StatusOr<AttemptResult> DecodeAttemptResult(std::string_view text) {
  return Decode<AttemptResult>(text, "attempt result", [](const json& value) -> StatusOr<AttemptResult> {
    if (!value.is_object()) return InvalidArgumentError("attempt result: not a JSON object");
    AttemptResult r;
    r.version = Get<int>(value, "version", 0);
    if (r.version != kResultVersion) {
      return FailedPreconditionError("attempt result: version " + std::to_string(r.version) + ", this reader knows " +
                                     std::to_string(kResultVersion));
    }
    r.go_test_argv = GetStrings(value, "goTestArgv");
    r.go_test_exit_code = Get<int>(value, "goTestExitCode", -1);
    r.go_test_signal = Get<int>(value, "goTestSignal", 0);
    r.start_unix_ms = Get<std::int64_t>(value, "startUnixMs", 0);
    r.end_unix_ms = Get<std::int64_t>(value, "endUnixMs", 0);
    r.memory_source = Get<std::string>(value, "memorySource", "");
    r.limit_bytes = GetOptionalU64(value, "limitBytes");
    r.peak_bytes = GetOptionalU64(value, "peakBytes");
    r.oom_kills_seen = GetOptionalU64(value, "oomKillsSeen");
    r.error = Get<std::string>(value, "error", "");
    if (const auto m = value.find("memoryStall"); m != value.end() && !m->is_null()) {
      if (!m->is_object()) return InvalidArgumentError("attempt result: memoryStall: not an object");
      r.memory_stall = MemoryStallRecord{.package = Get<std::string>(*m, "package", ""),
                                         .phase = Get<std::string>(*m, "phase", ""),
                                         .running_tests = GetStrings(*m, "runningTests"),
                                         .since_unix_ms = Get<std::int64_t>(*m, "sinceUnixMs", 0),
                                         .detected_unix_ms = Get<std::int64_t>(*m, "detectedUnixMs", 0),
                                         .ended_unix_ms = Get<std::int64_t>(*m, "endedUnixMs", 0),
                                         .limit_bytes = Get<std::uint64_t>(*m, "limitBytes", 0),
                                         .evidence = Get<std::string>(*m, "evidence", ""),
                                         .heap_profile = Get<std::string>(*m, "heapProfile", "")};
    }
    if (const auto it = value.find("packages"); it != value.end() && !it->is_null()) {
      for (const json& item : *it) {
        PackageRecord p;
        p.package = Get<std::string>(item, "package", "");
        const std::string outcome = Get<std::string>(item, "outcome", "");
        const auto known = PackageOutcomeFromJsonName(outcome);
        if (!known) {
          return InvalidArgumentError("attempt result: package " + p.package + ": outcome \"" + outcome + "\"");
        }
        p.outcome = *known;
        if (const auto e = item.find("elapsedSeconds"); e != item.end() && !e->is_null()) {
          p.elapsed_seconds = e->get<double>();
        }
        p.running_tests = GetStrings(item, "runningTests");
        p.failed_tests = GetStrings(item, "failedTests");
        p.timed_out = Get<bool>(item, "timedOut", false);
        if (const auto b = item.find("binary"); b != item.end() && !b->is_null()) {
          if (!b->is_object()) return InvalidArgumentError("attempt result: package " + p.package + ": binary");
          p.binary = BinaryEndFromJson(*b);
        }
        p.build_phase = BuildPhaseFromJsonName(Get<std::string>(item, "buildPhase", ""));
        p.gc_peak_heap_bytes = GetOptionalU64(item, "gcPeakHeapBytes");
        r.packages.push_back(std::move(p));
      }
    }
    return r;
  });
}

std::string FormatMemoryHeader(std::string_view source) { return "#source\t" + std::string(source) + "\n"; }

std::string FormatMemorySample(const MemorySample& sample) {
  std::string line = std::to_string(sample.unix_ms) + "\t" + std::to_string(sample.usage_bytes) + "\t";
  line += sample.limit_bytes ? std::to_string(*sample.limit_bytes) : "max";
  if (sample.anon_bytes) line += "\t" + std::to_string(*sample.anon_bytes);
  line += "\n";
  return line;
}

StatusOr<MemorySample> ParseMemorySample(std::string_view line) {
  const std::vector<std::string_view> f = SplitTabs(line);
  MemorySample s;
  if ((f.size() != 3 && f.size() != 4) || !ParseNumber(f[0], s.unix_ms) || !ParseNumber(f[1], s.usage_bytes)) {
    return InvalidArgumentError("memory sample: want unix_ms<TAB>usage<TAB>limit[<TAB>anon], got \"" +
                                std::string(line) + "\"");
  }
  if (f.size() == 4) {
    std::uint64_t anon = 0;
    if (!ParseNumber(f[3], anon)) return InvalidArgumentError("memory sample: bad anon \"" + std::string(f[3]) + "\"");
    s.anon_bytes = anon;
  }
  if (f[2] != "max") {
    std::uint64_t limit = 0;
    if (!ParseNumber(f[2], limit)) {
      return InvalidArgumentError("memory sample: bad limit \"" + std::string(f[2]) + "\"");
    }
    s.limit_bytes = limit;
  }
  return s;
}

const MemorySample* SampleAt(const std::vector<MemorySample>& samples, std::int64_t unix_ms) {
  const MemorySample* at = nullptr;
  for (const MemorySample& m : samples) {
    if (m.unix_ms <= unix_ms) at = &m;
  }
  return at;
}

std::optional<std::uint64_t> UsageAt(const std::vector<MemorySample>& samples, std::int64_t unix_ms) {
  const MemorySample* at = SampleAt(samples, unix_ms);
  if (at == nullptr) return std::nullopt;
  return at->usage_bytes;
}

MemoryTimeline ParseMemoryTimeline(std::string_view text) {
  MemoryTimeline timeline;
  const bool whole = ForEachWholeLine(text, [&](std::string_view line) {
    if (line.starts_with("#source\t")) {
      timeline.source = std::string(line.substr(8));
      if (timeline.source.ends_with('\r')) timeline.source.pop_back();
      return;
    }
    if (line.starts_with('#')) return;
    if (auto sample = ParseMemorySample(line); sample.ok()) {
      timeline.samples.push_back(*sample);
    } else {
      ++timeline.malformed_lines;
    }
  });
  if (!whole) ++timeline.malformed_lines;
  return timeline;
}

std::string FormatHeapSnapshotLine(const HeapSnapshotLine& l) {
  return std::to_string(l.unix_ms) + "\t" + std::to_string(l.seq) + "\t" + std::to_string(l.goroutines) + "\t" +
         std::to_string(l.heap_alloc) + "\t" + std::to_string(l.heap_inuse) + "\t" + std::to_string(l.heap_sys) + "\t" +
         std::to_string(l.next_gc) + "\n";
}

StatusOr<HeapSnapshotLine> ParseHeapSnapshotLine(std::string_view line) {
  const std::vector<std::string_view> f = SplitTabs(line);
  HeapSnapshotLine l;
  if (f.size() != 7 || !ParseNumber(f[0], l.unix_ms) || !ParseNumber(f[1], l.seq) || !ParseNumber(f[2], l.goroutines) ||
      !ParseNumber(f[3], l.heap_alloc) || !ParseNumber(f[4], l.heap_inuse) || !ParseNumber(f[5], l.heap_sys) ||
      !ParseNumber(f[6], l.next_gc)) {
    return InvalidArgumentError("heap snapshot line: want 7 numeric fields, got \"" + std::string(line) + "\"");
  }
  return l;
}

std::vector<HeapSnapshotLine> ParseHeapSnapshots(std::string_view text) {
  std::vector<HeapSnapshotLine> lines;
  ForEachWholeLine(text, [&](std::string_view line) {
    if (auto parsed = ParseHeapSnapshotLine(line); parsed.ok()) lines.push_back(*parsed);
  });
  return lines;
}

}  // namespace gotestrun::evidence
