#include "report/run_folder.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include "core/api/status.h"
#include "core/api/yaml_json.h"
#include "base/files.h"
#include "base/timestamps.h"
#include "core/diagnosis/gotest/test_stream_reader.h"
#include "core/diagnosis/pprof/heap_profile.h"
#include "core/policy/quantity.h"

namespace gotestrun::report {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// ---- files ----

std::string MiB(std::uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

bool IsDir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Entry names of a folder, sorted, at most `max`; `truncated` says whether there were more.
std::vector<std::string> ListFolder(const std::string& dir, std::size_t max, bool& truncated) {
  std::vector<std::string> names;
  truncated = false;
  std::error_code ec;
  fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (names.size() >= max) {
      truncated = true;
      break;
    }
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// ---- numbers and JSON fields ----

template <typename T>
std::optional<T> ParseDigits(std::string_view text) {
  T value{};
  if (text.empty() || text.size() > 18) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// A Kubernetes quantity written as a string or an integer.
std::string Quantity(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
  return {};
}

std::optional<std::uint64_t> QuantityBytes(const std::string& q) {
  if (q.empty()) return std::nullopt;
  auto b = policy::ParseMemoryQuantity(q);
  if (!b.ok()) return std::nullopt;
  return *b;
}

const json& Field(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// ---- run.yaml and status.yaml ----

void ApplyRunObject(const json& run, LoadedRun& out) {
  const json& meta = Field(run, "metadata");
  out.name = Str(meta, "name");
  out.ns = Str(meta, "namespace");
  const json& spec = Field(run, "spec");
  if (spec.is_object()) out.spec = spec;
  out.image = Str(spec, "image");
  const json& resources = Field(spec, "resources");
  out.memory = Quantity(resources, "memory");
  out.max_memory = Quantity(resources, "maxMemory");
  const json& patterns = Field(spec, "packages");
  if (patterns.is_array()) {
    for (const json& p : patterns) {
      if (p.is_string()) out.patterns.push_back(p.get<std::string>());
    }
  }
}

AttemptStatus AttemptStatusOf(const api::AttemptStatus& a) {
  AttemptStatus s;
  s.pod = a.pod;
  s.memory = a.memory;
  s.memory_bytes = QuantityBytes(a.memory);
  s.parallel = a.parallel;
  s.p = a.p;
  s.gomemlimit = a.gomemlimit;
  s.outcome = a.outcome;
  s.phase = a.phase;
  s.peak_bytes = a.peak_bytes;
  s.killed_package = a.killed_package;
  s.running_test = a.running_test;
  s.start_time = a.start_time;
  s.finish_time = a.finish_time;
  s.message = a.message;
  return s;
}

void ApplyStatus(const json& object, LoadedRun& out) {
  if (!object.is_object()) return;
  out.has_status = true;
  const api::RunStatus status = api::DecodeStatus(object);
  out.phase = status.phase;
  out.message = status.message;
  out.start_time = status.start_time;
  out.completion_time = status.completion_time;
  out.oom_kills = status.oom_kills;
  for (const api::Condition& c : status.conditions) {
    out.conditions.push_back({c.type, c.status, c.reason, c.message, c.last_transition_time});
  }
  for (const api::ShardStatus& s : status.shards) {
    Shard shard;
    shard.index = s.index;
    shard.packages = s.packages;
    for (const api::AttemptStatus& a : s.attempts) {
      Attempt attempt;
      attempt.shard = shard.index;
      attempt.attempt = a.attempt;
      attempt.in_status = true;
      attempt.status = AttemptStatusOf(a);
      shard.attempts.push_back(std::move(attempt));
    }
    out.shards.push_back(std::move(shard));
  }
  for (const api::PackageStatus& p : status.packages) {
    if (p.package.empty()) continue;
    out.packages.push_back({p.package, p.outcome, p.attempts.value_or(0), p.shard, p.peak_bytes});
  }
  for (const api::DiagnosisEntry& d : status.diagnosis) {
    out.diagnoses.push_back({d.package, d.phase, d.cause, d.summary, d.evidence, d.action});
  }
  for (const api::RiskWarning& w : status.warnings) {
    if (w.package.empty()) continue;
    out.warnings.push_back({w.package, w.kind, w.message, w.attempt});
  }
  for (const auto& [pkg, entries] : status.retry_log) {
    for (const api::RetryLogEntry& e : entries) {
      out.retry_log.push_back({pkg, e.shard, e.attempt, e.memory, e.parallel, e.p, e.gomemlimit, e.peak, e.result,
                               e.phase, e.cause, e.counted, e.verdict});
    }
  }
}

// ---- an attempt folder ----

class FolderReader {
 public:
  FolderReader(const std::string& run_dir, const LoadLimits& limits, std::vector<SkippedFile>& skipped)
      : run_dir_(run_dir), limits_(limits), skipped_(skipped) {}

  std::string Abs(const std::string& rel) const { return run_dir_ + "/" + rel; }

  void Skip(const std::string& rel, std::string reason) { skipped_.push_back({rel, std::move(reason)}); }

  // A file that may be missing: nullopt (and nothing noted) when it is not there.
  std::optional<std::string> ReadOptional(const std::string& rel, std::size_t max_bytes) {
    auto text = ReadFileWithin(run_dir_, rel, max_bytes);
    if (text.ok()) return std::move(text).value();
    if (text.status().code() != StatusCode::kNotFound) Skip(rel, text.status().message());
    return std::nullopt;
  }

  void Load(const std::string& rel, AttemptEvidence& ev) {
    ev.path = rel;
    ev.exists = IsDir(Abs(rel));
    if (!ev.exists) return;
    LoadMemory(rel + "/memory.tsv", ev);
    LoadEvents(rel + "/events.jsonl", ev);
    if (auto text = ReadOptional(rel + "/result.json", limits_.max_result_bytes)) {
      auto result = evidence::DecodeAttemptResult(*text);
      if (result.ok()) {
        ev.result = std::move(result).value();
      } else {
        Skip(rel + "/result.json", result.status().message());
      }
    }
    LoadExecs(rel + "/exec", ev);
    LoadHeap(rel + "/heap", ev);
  }

 private:
  void LoadMemory(const std::string& rel, AttemptEvidence& ev) {
    auto text = ReadOptional(rel, limits_.max_memory_bytes);
    if (!text) return;
    ev.memory = evidence::ParseMemoryTimeline(*text);
    if (ev.memory.samples.empty() && ev.memory.source.empty() && !text->empty()) {
      Skip(rel, "not a memory timeline: no #source header and no samples");
    } else if (ev.memory.malformed_lines > 1) {
      // One cut last line is what a kill leaves; more is damage.
      Skip(rel, std::to_string(ev.memory.malformed_lines) + " malformed lines left out, " +
                    std::to_string(ev.memory.samples.size()) + " samples read");
    }
  }

  void LoadEvents(const std::string& rel, AttemptEvidence& ev) {
    StatusOr<RegularFile> file = RegularFile::OpenWithin(run_dir_, rel);
    if (!file.ok()) {
      if (file.status().code() != StatusCode::kNotFound) Skip(rel, file.status().message());
      return;
    }
    const std::uint64_t size = file->size();
    if (size > limits_.max_events_bytes) {
      // The end of the stream is where a kill shows: read the last bytes. The reader
      // skips the line cut at the start.
      if (Status s = file->Seek(size - limits_.max_events_bytes); !s.ok()) {
        Skip(rel, s.message());
        return;
      }
      Skip(rel, "larger than " + MiB(limits_.max_events_bytes) + " (" + MiB(size) + "): only its last " +
                    MiB(limits_.max_events_bytes) + " were read");
    }
    gotest::TestStreamReader reader;
    std::size_t total = 0;
    std::string chunk;
    while (total < limits_.max_events_bytes) {
      chunk.clear();
      Status s = file->ReadUpTo(std::min<std::size_t>(std::size_t{1} << 20, limits_.max_events_bytes - total), chunk);
      if (!s.ok()) {
        Skip(rel, s.message());
        break;
      }
      if (chunk.empty()) break;
      total += chunk.size();
      reader.Feed(chunk);
    }
    reader.Finish();
    ev.has_events = true;
    ev.events = reader.summary();
  }

  void LoadExecs(const std::string& rel, AttemptEvidence& ev) {
    bool truncated = false;
    std::vector<std::string> names = ListFolder(Abs(rel), limits_.max_files_per_folder, truncated);
    if (truncated)
      Skip(rel, "more than " + std::to_string(limits_.max_files_per_folder) + " files: the rest were not read");
    for (const std::string& name : names) {
      if (!name.ends_with(".json")) continue;
      auto text = ReadOptional(rel + "/" + name, limits_.max_exec_bytes);
      if (!text) continue;
      auto record = evidence::DecodeExecRecord(*text);
      if (!record.ok()) {
        Skip(rel + "/" + name, record.status().message());
        continue;
      }
      ev.execs.push_back(std::move(record).value());
    }
    std::stable_sort(
        ev.execs.begin(), ev.execs.end(),
        [](const evidence::ExecRecord& a, const evidence::ExecRecord& b) { return a.start_unix_ms < b.start_unix_ms; });
  }

  // The import path a heap/<name> folder belongs to.
  static std::string PackageOfHeapFolder(const std::string& name, const AttemptEvidence& ev) {
    if (auto unescaped = evidence::UnescapePackage(name); unescaped.ok()) return *unescaped;
    // A shortened name: find the package it was made from.
    auto matches = [&](const std::string& pkg) { return evidence::EscapePackage(pkg) == name; };
    for (const evidence::ExecRecord& e : ev.execs) {
      if (matches(e.package)) return e.package;
    }
    if (ev.result) {
      for (const evidence::PackageRecord& p : ev.result->packages) {
        if (matches(p.package)) return p.package;
      }
    }
    for (const gotest::PackageResult& p : ev.events.packages) {
      if (matches(p.name)) return p.name;
    }
    return name;
  }

  void LoadHeap(const std::string& rel, AttemptEvidence& ev) {
    bool truncated = false;
    std::vector<std::string> folders = ListFolder(Abs(rel), limits_.max_files_per_folder, truncated);
    if (truncated)
      Skip(rel, "more than " + std::to_string(limits_.max_files_per_folder) + " folders: the rest were not read");
    for (const std::string& folder : folders) {
      std::string dir = rel + "/" + folder;
      if (!IsDir(Abs(dir))) continue;
      std::string pkg = PackageOfHeapFolder(folder, ev);
      std::vector<std::string> files = ListFolder(Abs(dir), limits_.max_files_per_folder, truncated);
      if (truncated)
        Skip(dir, "more than " + std::to_string(limits_.max_files_per_folder) + " files: the rest were not read");
      std::vector<std::pair<std::uint64_t, std::string>> profiles;
      for (const std::string& file : files) {
        if (file == evidence::kHeapSnapshotsFile) {
          auto text = ReadOptional(dir + "/" + file, limits_.max_snapshots_bytes);
          if (!text) continue;
          std::vector<evidence::HeapSnapshotLine> lines = evidence::ParseHeapSnapshots(*text);
          if (lines.empty() && !text->empty()) {
            Skip(dir + "/" + file, "no line of it is a heap snapshot line");
          }
          ev.heap_snapshots[pkg] = std::move(lines);
          continue;
        }
        // NNNN.pb.gz; the .tmp of one being written is not a profile yet.
        constexpr std::string_view kExt = ".pb.gz";
        if (!file.ends_with(kExt)) continue;
        auto seq = ParseDigits<std::uint64_t>(std::string_view(file).substr(0, file.size() - kExt.size()));
        if (!seq) continue;
        profiles.emplace_back(*seq, dir + "/" + file);
      }
      std::sort(profiles.begin(), profiles.end());
      if (!profiles.empty()) ev.heap_profiles[pkg] = std::move(profiles);
    }
  }

  const std::string& run_dir_;
  const LoadLimits& limits_;
  std::vector<SkippedFile>& skipped_;
};

// s<i>/a<k> folders on disk.
std::vector<std::pair<int, int>> FindAttemptFolders(const std::string& dir, const LoadLimits& limits,
                                                    std::vector<SkippedFile>& skipped) {
  std::vector<std::pair<int, int>> found;
  bool truncated = false;
  for (const std::string& s : ListFolder(dir, limits.max_files_per_folder, truncated)) {
    auto shard = evidence::ShardOfFolderName(s);
    if (!shard || !IsDir(dir + "/" + s)) continue;
    bool more = false;
    for (const std::string& a : ListFolder(dir + "/" + s, limits.max_files_per_folder, more)) {
      auto attempt = evidence::AttemptOfFolderName(a);
      if (!attempt || !IsDir(dir + "/" + s + "/" + a)) continue;
      if (found.size() >= limits.max_attempt_folders) {
        skipped.push_back({s + "/" + a, "more than " + std::to_string(limits.max_attempt_folders) +
                                            " attempt folders: the rest were not read"});
        return found;
      }
      found.emplace_back(*shard, *attempt);
    }
  }
  if (truncated) skipped.push_back({".", "more than " + std::to_string(limits.max_files_per_folder) + " entries"});
  return found;
}

std::string AttemptPath(int shard, int attempt) { return evidence::AttemptName(shard, attempt); }

std::optional<std::int64_t> Rfc3339Ms(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto t = ParseRfc3339(text);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

// The heap profile of a diagnosed package: the newest that reads, from the latest
// attempt that has any.
void FindHeapTop(LoadedRun& run, Diagnosis& diagnosis, const LoadLimits& limits) {
  std::vector<const Attempt*> attempts = run.AttemptsInOrder();
  for (auto it = attempts.rbegin(); it != attempts.rend(); ++it) {
    const AttemptEvidence& ev = (*it)->evidence;
    auto found = ev.heap_profiles.find(diagnosis.package);
    if (found == ev.heap_profiles.end()) continue;
    const auto& profiles = found->second;
    int tries = 0;
    for (auto p = profiles.rbegin(); p != profiles.rend() && tries < 3; ++p, ++tries) {
      auto bytes = ReadFileWithin(run.dir, p->second, limits.max_profile_bytes);
      if (!bytes.ok()) {
        run.skipped.push_back({p->second, bytes.status().message()});
        continue;
      }
      auto profile = pprof::ParseHeapProfile(*bytes);
      if (!profile.ok()) {
        run.skipped.push_back({p->second, profile.status().ToString()});
        continue;
      }
      auto top = pprof::TopFunctions(*profile, pprof::kInuseSpace, SIZE_MAX);
      if (!top.ok()) {
        run.skipped.push_back({p->second, top.status().ToString()});
        continue;
      }
      HeapTop heap;
      heap.profile = p->second;
      heap.seq = p->first;
      heap.total_inuse_bytes = top->total;
      // Allocation sites are where memory was allocated: functions with flat bytes, not
      // their callers (which pprof lists with a flat of zero).
      for (const pprof::FunctionCost& f : top->functions) {
        if (f.flat <= 0) continue;
        ++heap.function_count;
        if (heap.sites.size() < limits.top_sites) {
          heap.sites.push_back({f.name, f.hottest.filename, f.hottest.line, f.flat, f.cum});
        }
      }
      if (auto snaps = ev.heap_snapshots.find(diagnosis.package); snaps != ev.heap_snapshots.end()) {
        for (const evidence::HeapSnapshotLine& line : snaps->second) {
          if (line.seq == heap.seq) heap.snapshot = line;
        }
      }
      diagnosis.heap = std::move(heap);
      return;
    }
    return;  // the latest attempt with profiles had none that read
  }
}

StatusOr<LoadedRun> Load(const std::string& dir, const json* object, const LoadLimits& limits) {
  if (!IsDir(dir)) return NotFoundError("run folder " + dir + " is not a folder");
  LoadedRun run;
  run.dir = dir;
  while (run.dir.size() > 1 && run.dir.back() == '/') run.dir.pop_back();
  FolderReader reader(run.dir, limits, run.skipped);

  json status;
  if (object != nullptr) {
    ApplyRunObject(*object, run);
    status = Field(*object, "status");
  } else {
    if (auto text = reader.ReadOptional("run.yaml", limits.max_yaml_bytes)) {
      auto j = api::YamlToJson(*text);
      if (j.ok() && j->is_object()) {
        ApplyRunObject(*j, run);
        status = Field(*j, "status");  // a run.yaml written with its status
      } else {
        reader.Skip("run.yaml", j.ok() ? "not a YAML mapping" : j.status().message());
      }
    }
    if (auto text = reader.ReadOptional("status.yaml", limits.max_yaml_bytes)) {
      auto j = api::YamlToJson(*text);
      if (j.ok() && (j->is_object() || j->is_null())) {
        if (j->is_object()) status = std::move(j).value();
      } else {
        reader.Skip("status.yaml", j.ok() ? "not a YAML mapping" : j.status().message());
      }
    }
    if (auto text = reader.ReadOptional("plan/packages.json", limits.max_plan_bytes)) {
      auto plan = evidence::DecodePackageListings(*text);
      if (plan.ok()) {
        run.plan = std::move(plan).value();
      } else {
        reader.Skip("plan/packages.json", plan.status().message());
      }
    }
  }
  if (run.name.empty()) run.name = fs::path(run.dir).filename().string();
  ApplyStatus(status, run);

  // Join the status's attempts with the folders on disk.
  std::set<std::pair<int, int>> known;
  for (const Shard& s : run.shards) {
    for (const Attempt& a : s.attempts) known.emplace(a.shard, a.attempt);
  }
  for (auto [shard, attempt] : FindAttemptFolders(run.dir, limits, run.skipped)) {
    if (known.contains({shard, attempt})) continue;
    auto s = std::find_if(run.shards.begin(), run.shards.end(), [&](const Shard& x) { return x.index == shard; });
    if (s == run.shards.end()) {
      run.shards.push_back({shard, {}, {}});
      s = run.shards.end() - 1;
    }
    Attempt a;
    a.shard = shard;
    a.attempt = attempt;
    s->attempts.push_back(std::move(a));
  }
  std::stable_sort(run.shards.begin(), run.shards.end(),
                   [](const Shard& a, const Shard& b) { return a.index < b.index; });
  for (Shard& s : run.shards) {
    std::stable_sort(s.attempts.begin(), s.attempts.end(),
                     [](const Attempt& a, const Attempt& b) { return a.attempt < b.attempt; });
    for (Attempt& a : s.attempts) reader.Load(AttemptPath(a.shard, a.attempt), a.evidence);
  }
  for (Diagnosis& d : run.diagnoses) FindHeapTop(run, d, limits);
  return run;
}

}  // namespace

std::optional<std::int64_t> AttemptStartUnixMs(const Attempt& attempt) {
  if (auto t = Rfc3339Ms(attempt.status.start_time)) return t;
  const AttemptEvidence& ev = attempt.evidence;
  if (ev.result && ev.result->start_unix_ms > 0) return ev.result->start_unix_ms;
  std::optional<std::int64_t> first;
  if (!ev.memory.samples.empty()) first = ev.memory.samples.front().unix_ms;
  if (!ev.execs.empty() && (!first || ev.execs.front().start_unix_ms < *first)) first = ev.execs.front().start_unix_ms;
  return first;
}

std::optional<std::int64_t> AttemptEndUnixMs(const Attempt& attempt) {
  if (auto t = Rfc3339Ms(attempt.status.finish_time)) return t;
  const AttemptEvidence& ev = attempt.evidence;
  if (ev.result && ev.result->end_unix_ms > 0) return ev.result->end_unix_ms;
  std::optional<std::int64_t> last;
  if (!ev.memory.samples.empty()) last = ev.memory.samples.back().unix_ms;
  for (const evidence::ExecRecord& e : ev.execs) {
    if (!last || e.end_unix_ms > *last) last = e.end_unix_ms;
  }
  return last;
}

std::vector<const Attempt*> LoadedRun::AttemptsInOrder() const {
  struct Keyed {
    const Attempt* attempt;
    std::optional<std::int64_t> start;
  };
  std::vector<Keyed> all;
  bool all_timed = true;
  for (const Shard& s : shards) {
    for (const Attempt& a : s.attempts) {
      all.push_back({&a, AttemptStartUnixMs(a)});
      all_timed = all_timed && all.back().start.has_value();
    }
  }
  // By time only when every attempt has one: mixing the two orders would not be one order.
  std::stable_sort(all.begin(), all.end(), [all_timed](const Keyed& a, const Keyed& b) {
    if (all_timed && *a.start != *b.start) return *a.start < *b.start;
    if (a.attempt->attempt != b.attempt->attempt) return a.attempt->attempt < b.attempt->attempt;
    return a.attempt->shard < b.attempt->shard;
  });
  std::vector<const Attempt*> out;
  out.reserve(all.size());
  for (const Keyed& k : all) out.push_back(k.attempt);
  return out;
}

StatusOr<LoadedRun> LoadRunFolder(const std::string& dir, const LoadLimits& limits) {
  return Load(dir, nullptr, limits);
}

StatusOr<LoadedRun> LoadRunFolder(const std::string& attempts_dir, const nlohmann::json& run,
                                  const LoadLimits& limits) {
  return Load(attempts_dir, &run, limits);
}

}  // namespace gotestrun::report
