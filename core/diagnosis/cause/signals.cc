#include "core/diagnosis/cause/signals.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "base/files.h"
#include "base/timestamps.h"
#include "core/evidence/evidence.h"
#include "core/diagnosis/gotest/gctrace.h"
#include "core/diagnosis/gotest/test_events.h"
#include "core/diagnosis/gotest/test_stream_reader.h"
#include "core/diagnosis/gotest/text_forms.h"
#include "core/diagnosis/pprof/heap_profile.h"

namespace gotestrun::cause {
namespace {

namespace fs = std::filesystem;
using policy::PackageResult;
using policy::Phase;

// Bounds on what one package's evidence may make the reader hold, whatever the
// files claim: far above a real package (thousands of tests, a GC every few ms for
// minutes), far below what would hurt.
constexpr std::size_t kMaxTests = 200000;
constexpr std::size_t kMaxGcSamples = 200000;
constexpr std::size_t kMaxHeapSamples = 200000;
// A package's own steps: its compile, its test variant's, the test main's, the link.
constexpr std::size_t kMaxBuildSteps = 64;
// An output line of a test binary held until its newline; GC lines are ~150 bytes.
constexpr std::size_t kMaxPendingOutput = 64 * 1024;
// Profiles tried, newest first, when the newest ones do not parse.
constexpr int kMaxProfileAttempts = 4;

struct FileText {
  bool exists = false;
  bool truncated = false;
  std::string text;
};

// The first `cap` bytes of a file of the attempt folder. A file that is there but
// refused (a FIFO, a device, a link, one leading out of the folder) is noted and
// treated as absent. Never throws, never blocks.
FileText ReadHead(const std::string& folder, const std::string& path, std::size_t cap, PackageSignals& signals) {
  FileText out;
  StatusOr<FileHead> head = ReadFileHeadWithin(folder, path, cap);
  if (!head.ok()) {
    if (head.status().code() != StatusCode::kNotFound) signals.notes.push_back(head.status().message());
    return out;
  }
  out.exists = true;
  out.truncated = head->truncated;
  out.text = std::move(head->text);
  return out;
}

std::string FileName(const std::string& path) { return fs::path(path).filename().string(); }

// Calls `fn` with each line of `text` (without "\n"); a last line without one too.
template <typename Fn>
void ForEachLine(std::string_view text, Fn&& fn) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line);
    pos = nl + 1;
  }
}

std::optional<int> ParsePositiveInt(std::string_view text) {
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

// The value of a flag in argv, in any of the forms "-f=v", "--f=v", "-f v", "--f v".
std::optional<int> FlagValue(const std::vector<std::string>& argv, std::string_view name) {
  std::optional<int> found;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string_view arg = argv[i];
    if (arg == "-args" || arg == "--args") break;
    if (arg.starts_with("--")) arg.remove_prefix(2);
    else if (arg.starts_with("-")) arg.remove_prefix(1);
    else continue;
    if (!arg.starts_with(name)) continue;
    arg.remove_prefix(name.size());
    if (arg.starts_with("=")) {
      if (auto v = ParsePositiveInt(arg.substr(1))) found = v;
    } else if (arg.empty() && i + 1 < argv.size()) {
      if (auto v = ParsePositiveInt(argv[i + 1])) found = v;
    }
  }
  return found;
}

// "TestX/sub/deeper" is a subtest of "TestX" and of "TestX/sub".
bool IsSubtestOf(std::string_view child, std::string_view parent) {
  return child.size() > parent.size() && child.starts_with(parent) && child[parent.size()] == '/';
}

// "@T" of a GC line in milliseconds, bounded (a garbled line may claim anything).
std::int64_t GcMillis(double seconds) {
  if (!(seconds >= 0)) return 0;
  return static_cast<std::int64_t>(std::llround(std::min(seconds, 1e9) * 1000));
}

// A Unix time in milliseconds that arithmetic on it cannot overflow: after 1970 and
// before the year 30000.
bool SaneUnixMs(std::int64_t ms) { return ms > 0 && ms < 900000000000000; }

// ---- the event stream ----

// The state of the package's tests while the stream is read, in stream order.
class StreamState {
 public:
  explicit StreamState(std::vector<TestSpan>& spans) : spans_(spans) {}

  void Run(const std::string& name, std::optional<std::int64_t> t) {
    if (spans_.size() >= kMaxTests) {
      dropped_ = true;
      return;
    }
    spans_.push_back(TestSpan{.name = name, .start_ms = t});
    const int index = static_cast<int>(spans_.size() - 1);
    latest_[name] = index;
    running_.push_back(index);
    ++started_;
  }
  void Pause(const std::string& name) {
    const int i = Find(name);
    if (i < 0) return;
    spans_[static_cast<std::size_t>(i)].parallel = true;
    std::erase(running_, i);
  }
  void Cont(const std::string& name, std::optional<std::int64_t> t) {
    const int i = Find(name);
    if (i < 0) return;
    spans_[static_cast<std::size_t>(i)].resume_ms = t;
    if (std::find(running_.begin(), running_.end(), i) == running_.end()) running_.push_back(i);
  }
  void End(const std::string& name, std::optional<std::int64_t> t) {
    const int i = Find(name);
    if (i < 0) return;
    TestSpan& span = spans_[static_cast<std::size_t>(i)];
    span.ended = true;
    span.end_ms = t;
    std::erase(running_, i);
    ++ended_;
  }

  TestProgress Progress() const {
    TestProgress p{.started = started_, .ended = ended_, .open = started_ - ended_};
    for (const int i : running_) {
      const std::string& name = spans_[static_cast<std::size_t>(i)].name;
      const bool has_running_child = std::any_of(running_.begin(), running_.end(), [&](int j) {
        return IsSubtestOf(spans_[static_cast<std::size_t>(j)].name, name);
      });
      if (has_running_child) continue;
      ++p.running_leaves;
      if (p.test < 0 || i > p.test) p.test = i;
    }
    return p;
  }

  bool dropped() const { return dropped_; }

 private:
  int Find(const std::string& name) const {
    auto it = latest_.find(name);
    return it == latest_.end() ? -1 : it->second;
  }

  std::vector<TestSpan>& spans_;
  std::map<std::string, int, std::less<>> latest_;
  std::vector<int> running_;
  int started_ = 0;
  int ended_ = 0;
  bool dropped_ = false;
};

struct StreamGcLine {
  gotest::GcCycle cycle;
  int process = 0;
  TestProgress progress;
  std::optional<std::int64_t> unix_ms;
};

struct StreamRead {
  std::vector<TestSpan> tests;
  std::vector<StreamGcLine> gc;
  std::optional<std::int64_t> package_start_ms;  // the last "start" event
  bool saw_package = false;
  bool dropped_tests = false;
};

StreamRead ReadStream(std::string_view text, std::string_view package) {
  StreamRead out;
  StreamState state(out.tests);
  std::string pending;  // the package's output not yet ended by "\n"
  int process = 0;
  std::uint64_t last_number = 0;
  bool any_gc = false;

  auto on_output_line = [&](std::string_view line, std::optional<std::int64_t> t) {
    if (!gotest::IsGcTraceLine(line)) return;
    StatusOr<gotest::GcCycle> cycle = gotest::ParseGcTraceLine(line);
    if (!cycle.ok()) return;
    if (any_gc && cycle->number <= last_number) ++process;
    any_gc = true;
    last_number = cycle->number;
    if (out.gc.size() < kMaxGcSamples) {
      out.gc.push_back({.cycle = *cycle, .process = process, .progress = state.Progress(), .unix_ms = t});
    }
  };

  ForEachLine(text, [&](std::string_view line) {
    if (line.empty() || line.front() != '{') return;
    StatusOr<gotest::TestEvent> event = gotest::ParseTestEvent(line);
    if (!event.ok() || event->is_build_event() || event->package != package) return;
    out.saw_package = true;
    const std::optional<std::int64_t> t = ParseEventTimeMs(event->time);
    switch (event->action) {
      case gotest::TestAction::kStart:
        out.package_start_ms = t;
        if (any_gc) {
          ++process;
          any_gc = false;
          last_number = 0;
        }
        break;
      case gotest::TestAction::kRun:
        if (!event->test.empty()) state.Run(event->test, t);
        break;
      case gotest::TestAction::kPause:
        if (!event->test.empty()) state.Pause(event->test);
        break;
      case gotest::TestAction::kCont:
        if (!event->test.empty()) state.Cont(event->test, t);
        break;
      case gotest::TestAction::kPass:
      case gotest::TestAction::kFail:
      case gotest::TestAction::kSkip:
        if (!event->test.empty()) state.End(event->test, t);
        break;
      case gotest::TestAction::kOutput: {
        if (!event->output) break;
        std::string_view chunk = *event->output;
        while (!chunk.empty()) {
          const std::size_t nl = chunk.find('\n');
          if (nl == std::string_view::npos) {
            if (pending.size() + chunk.size() <= kMaxPendingOutput) pending.append(chunk);
            break;
          }
          pending.append(chunk.substr(0, std::min(nl, kMaxPendingOutput)));
          on_output_line(pending, t);
          pending.clear();
          chunk.remove_prefix(nl + 1);
        }
        break;
      }
      default: break;
    }
  });
  out.dropped_tests = state.dropped();
  for (TestSpan& span : out.tests) {
    span.leaf = std::none_of(out.tests.begin(), out.tests.end(),
                             [&](const TestSpan& other) { return IsSubtestOf(other.name, span.name); });
  }
  return out;
}

// Where the tests stood at `t`, from their spans: for evidence the stream cannot place.
TestProgress ProgressAt(const std::vector<TestSpan>& tests, std::int64_t t) {
  TestProgress p;
  std::optional<std::int64_t> latest;
  for (std::size_t i = 0; i < tests.size(); ++i) {
    const TestSpan& s = tests[i];
    if (!s.start_ms || *s.start_ms > t) continue;
    ++p.started;
    if (s.ended && s.end_ms && *s.end_ms <= t) {
      ++p.ended;
      continue;
    }
    ++p.open;
    if (!s.leaf) continue;
    // A t.Parallel test is paused from its start until its cont.
    const std::int64_t from = s.parallel ? s.resume_ms.value_or(std::numeric_limits<std::int64_t>::max()) : *s.start_ms;
    if (from > t) continue;
    ++p.running_leaves;
    if (!latest || from >= *latest) {
      latest = from;
      p.test = static_cast<int>(i);
    }
  }
  return p;
}

// ---- heap profiles ----

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// "example.com/x/leak.TestOrders.func1" -> "TestOrders".
std::string TopLevelTest(std::string_view function) {
  if (const std::size_t slash = function.rfind('/'); slash != std::string_view::npos) function.remove_prefix(slash + 1);
  if (const std::size_t dot = function.find('.'); dot != std::string_view::npos) function.remove_prefix(dot + 1);
  if (const std::size_t dot = function.find('.'); dot != std::string_view::npos) function = function.substr(0, dot);
  return std::string(function);
}

bool IsInitFrame(std::string_view name) {
  if (name == "runtime.doInit" || name == "runtime.doInit1" || name == "runtime.main" || name == "main.main")
    return true;
  // "example.com/p.init", "example.com/p.init.0", "example.com/p.init.func1"
  std::string_view tail = name;
  if (const std::size_t slash = tail.rfind('/'); slash != std::string_view::npos) tail.remove_prefix(slash + 1);
  const std::size_t dot = tail.find('.');
  if (dot == std::string_view::npos) return false;
  tail.remove_prefix(dot + 1);
  return tail == "init" || tail.starts_with("init.");
}

using SiteKey = std::tuple<std::string, std::string, std::int64_t, AllocationOrigin, std::string>;
using SiteBytes = std::map<SiteKey, std::uint64_t>;

struct ProfileSummary {
  SiteBytes sites;
  InuseBreakdown inuse;
};

ProfileSummary Summarize(const pprof::HeapProfile& profile, std::size_t value_index) {
  ProfileSummary out;
  std::map<std::string, std::uint64_t> by_test;
  const std::span<const pprof::Location> locations = profile.locations();
  const std::span<const pprof::Function> functions = profile.functions();
  for (std::size_t i = 0; i < profile.sample_count(); ++i) {
    const pprof::Sample sample = profile.sample(i);
    if (value_index >= sample.values.size() || sample.values[value_index] <= 0) continue;
    const auto bytes = static_cast<std::uint64_t>(sample.values[value_index]);
    std::string_view leaf_function, leaf_file, callee;
    std::int64_t leaf_line = 0;
    bool have_leaf = false;
    AllocationOrigin origin = AllocationOrigin::kGoroutine;
    std::string test;
    bool decided = false;
    for (const std::uint32_t loc : sample.locations) {
      if (loc >= locations.size()) continue;
      for (const pprof::Line& line : locations[loc].lines) {
        if (line.function_index >= functions.size()) continue;
        const pprof::Function& fn = functions[line.function_index];
        if (!have_leaf) {
          leaf_function = fn.name;
          leaf_file = fn.filename;
          leaf_line = line.line;
          have_leaf = true;
        }
        if (!decided) {
          if (Contains(fn.name, "zzGotestrunHeap")) {
            origin = AllocationOrigin::kProfiler;
            decided = true;
          } else if (fn.name == "testing.tRunner") {
            origin = AllocationOrigin::kTest;
            test = TopLevelTest(callee);
            decided = true;
          } else if (IsInitFrame(fn.name)) {
            origin = AllocationOrigin::kInit;
            decided = true;
          }
        }
        callee = fn.name;
      }
    }
    if (!have_leaf) leaf_function = "(unknown)";
    out.sites[{std::string(leaf_function), std::string(leaf_file), leaf_line, origin, test}] += bytes;
    if (origin == AllocationOrigin::kProfiler) continue;
    out.inuse.total += bytes;
    switch (origin) {
      case AllocationOrigin::kTest:
        out.inuse.tests += bytes;
        by_test[test] += bytes;
        break;
      case AllocationOrigin::kInit: out.inuse.init += bytes; break;
      default: out.inuse.goroutines += bytes; break;
    }
  }
  for (auto& [name, bytes] : by_test) out.inuse.by_test.push_back({name, bytes});
  std::stable_sort(out.inuse.by_test.begin(), out.inuse.by_test.end(),
                   [](const InuseByTest& a, const InuseByTest& b) { return a.bytes > b.bytes; });
  return out;
}

std::vector<AllocationSite> TopSites(const SiteBytes& sites, std::size_t n) {
  std::vector<AllocationSite> out;
  for (const auto& [key, bytes] : sites) {
    const auto& [function, file, line, origin, test] = key;
    if (origin == AllocationOrigin::kProfiler || bytes == 0) continue;
    out.push_back({.function = function, .file = file, .line = line, .bytes = bytes, .origin = origin, .test = test});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const AllocationSite& a, const AllocationSite& b) { return a.bytes > b.bytes; });
  if (out.size() > n) out.resize(n);
  return out;
}

struct ParsedProfile {
  std::string name;
  ProfileSummary summary;
  std::int64_t time_nanos = 0;  // when the binary wrote it, by its own clock
};

std::optional<ParsedProfile> LoadProfile(const std::string& folder, const std::string& path, const ReadOptions& options,
                                         PackageSignals& signals) {
  FileText file = ReadHead(folder, path, options.max_profile_bytes, signals);
  if (file.truncated) {
    signals.notes.push_back("heap profile " + FileName(path) + " is larger than " +
                            std::to_string(options.max_profile_bytes) + " bytes; skipped");
    return std::nullopt;
  }
  if (!file.exists) return std::nullopt;
  pprof::Limits limits;
  limits.max_compressed_bytes = options.max_profile_bytes;
  StatusOr<pprof::HeapProfile> profile = pprof::ParseHeapProfile(file.text, limits);
  if (!profile.ok()) {
    signals.notes.push_back("heap profile " + FileName(path) + " does not parse: " + profile.status().ToString());
    return std::nullopt;
  }
  const std::optional<std::size_t> index = profile->SampleTypeIndex(pprof::kInuseSpace);
  if (!index) {
    signals.notes.push_back("heap profile " + FileName(path) + " has no inuse_space");
    return std::nullopt;
  }
  return ParsedProfile{FileName(path), Summarize(*profile, *index), profile->time_nanos()};
}

// Sequence number of "0012.pb.gz".
std::optional<std::uint64_t> ProfileSeq(std::string_view name) {
  if (!name.ends_with(".pb.gz")) return std::nullopt;
  name.remove_suffix(6);
  std::uint64_t seq = 0;
  const auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), seq);
  if (ec != std::errc() || ptr != name.data() + name.size()) return std::nullopt;
  return seq;
}

void ReadProfiles(const std::string& folder, const std::string& dir, const ReadOptions& options,
                  PackageSignals& signals) {
  std::vector<std::pair<std::uint64_t, std::string>> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (files.size() >= kMaxHeapSamples) {
      signals.notes.push_back("more than " + std::to_string(kMaxHeapSamples) + " heap profiles: the rest left out");
      break;
    }
    const std::string name = it->path().filename().string();
    if (std::optional<std::uint64_t> seq = ProfileSeq(name)) files.emplace_back(*seq, it->path().string());
  }
  if (files.empty()) return;
  std::sort(files.begin(), files.end());
  std::optional<ParsedProfile> last;
  std::size_t last_index = files.size();
  for (int tried = 0; tried < kMaxProfileAttempts && last_index > 0 && !last; ++tried) {
    --last_index;
    last = LoadProfile(folder, files[last_index].second, options, signals);
  }
  if (!last) {
    signals.notes.push_back("no heap profile could be read: allocation sites unknown");
    return;
  }
  signals.inuse_sites = TopSites(last->summary.sites, options.max_sites);
  signals.inuse = last->summary.inuse;
  if (last->time_nanos > 0) {
    signals.inuse->unix_ms = last->time_nanos / 1000000;
  } else {
    const std::uint64_t last_seq = files[last_index].first;
    for (const HeapSample& h : signals.heap) {
      if (h.seq == last_seq) signals.inuse->unix_ms = h.unix_ms;
    }
  }
  std::optional<ParsedProfile> first;
  for (std::size_t i = 0; i < last_index && i < static_cast<std::size_t>(kMaxProfileAttempts) && !first; ++i) {
    first = LoadProfile(folder, files[i].second, options, signals);
  }
  if (!first) return;
  SiteBytes growth;
  for (const auto& [key, bytes] : last->summary.sites) {
    auto it = first->summary.sites.find(key);
    const std::uint64_t before = it == first->summary.sites.end() ? 0 : it->second;
    if (bytes > before) growth[key] = bytes - before;
  }
  signals.growth_sites = TopSites(growth, options.max_sites);
}

// ---- the rest ----

std::vector<evidence::HeapSnapshotLine> ReadSnapshotLines(const std::string& folder, const std::string& path,
                                                          const ReadOptions& options, PackageSignals& signals) {
  FileText file = ReadHead(folder, path, options.max_table_bytes, signals);
  if (!file.exists) return {};
  if (file.truncated)
    signals.notes.push_back("snapshots.tsv read up to " + std::to_string(options.max_table_bytes) + " bytes");
  return evidence::ParseHeapSnapshots(file.text);
}

struct GcFileLine {
  gotest::GcCycle cycle;
  int process = 0;
};

std::vector<GcFileLine> ParseGcFile(std::string_view text, std::size_t& malformed) {
  std::vector<GcFileLine> out;
  int process = 0;
  std::uint64_t last = 0;
  ForEachLine(text, [&](std::string_view line) {
    if (!gotest::IsGcTraceLine(line)) return;
    StatusOr<gotest::GcCycle> cycle = gotest::ParseGcTraceLine(line);
    if (!cycle.ok()) {
      ++malformed;
      return;
    }
    if (!out.empty() && cycle->number <= last) ++process;
    last = cycle->number;
    if (out.size() < kMaxGcSamples) out.push_back({*cycle, process});
  });
  return out;
}

PackageResult ResultOfRecord(const evidence::PackageRecord& r, bool build_killed) {
  switch (r.outcome) {
    case gotest::PackageOutcome::kPass:
    case gotest::PackageOutcome::kSkip: return PackageResult::kPassed;
    case gotest::PackageOutcome::kFail:
      // A binary that a SIGKILL ended is a kill whatever go test printed.
      return r.binary && r.binary->signal == 9 ? PackageResult::kKilled : PackageResult::kTestsFailed;
    case gotest::PackageOutcome::kKilled:
      return r.binary && r.binary->signal != 0 && r.binary->signal != 9 ? PackageResult::kTestsFailed
                                                                        : PackageResult::kKilled;
    case gotest::PackageOutcome::kBuildFailed:
      return build_killed ? PackageResult::kBuildKilled : PackageResult::kBuildFailed;
    default: return PackageResult::kNotRun;
  }
}

}  // namespace

std::string_view AllocationOriginName(AllocationOrigin origin) {
  switch (origin) {
    case AllocationOrigin::kTest: return "test";
    case AllocationOrigin::kInit: return "init";
    case AllocationOrigin::kGoroutine: return "goroutine";
    case AllocationOrigin::kProfiler: return "profiler";
  }
  return "goroutine";
}

std::optional<std::int64_t> ParseEventTimeMs(std::string_view s) {
  const auto t = ParseRfc3339(s, Rfc3339Zone::kAnyOffset);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

StatusOr<PackageSignals> ReadPackageSignals(const std::string& attempt_dir, std::string_view package,
                                            const ReadOptions& options) {
  if (package.empty()) return InvalidArgumentError("ReadPackageSignals: empty package");
  const evidence::AttemptLayout layout(attempt_dir);
  PackageSignals s;
  s.package = std::string(package);
  s.known_test_count = options.known_test_count;
  bool found = false;

  // result.json: the outcome go test and the wrapper saw, the limit, the flags.
  std::optional<evidence::AttemptResult> result;
  const evidence::PackageRecord* record = nullptr;
  if (FileText f = ReadHead(attempt_dir, layout.result(), options.max_record_bytes, s); f.exists) {
    StatusOr<evidence::AttemptResult> decoded =
        f.truncated ? StatusOr<evidence::AttemptResult>(ResourceExhaustedError("too large"))
                    : evidence::DecodeAttemptResult(f.text);
    if (decoded.ok()) {
      result = std::move(decoded).value();
      s.limit_bytes = result->limit_bytes;
      s.cgroup_peak_bytes = result->peak_bytes;
      s.parallel = FlagValue(result->go_test_argv, "parallel");
      s.p = FlagValue(result->go_test_argv, "p");
      for (const evidence::PackageRecord& r : result->packages) {
        if (r.package == package) record = &r;
      }
      if (record == nullptr) s.notes.push_back("result.json has no record of the package");
    } else {
      s.notes.push_back("result.json does not decode: " + decoded.status().ToString());
    }
  } else {
    s.notes.push_back("no result.json: the agent did not finish (its container died?)");
  }
  found = found || record != nullptr;

  // The exec record of the test binary.
  if (FileText f = ReadHead(attempt_dir, layout.exec_record(package), options.max_record_bytes, s); f.exists) {
    StatusOr<evidence::ExecRecord> exec = f.truncated
                                              ? StatusOr<evidence::ExecRecord>(ResourceExhaustedError("too large"))
                                              : evidence::DecodeExecRecord(f.text);
    if (exec.ok()) {
      found = true;
      if (exec->end.max_rss_bytes > 0) s.max_rss_bytes = exec->end.max_rss_bytes;
      s.gomemlimit_bytes = exec->gomemlimit;
      if (SaneUnixMs(exec->start_unix_ms)) s.binary_start_ms = exec->start_unix_ms;
      if (SaneUnixMs(exec->end_unix_ms)) s.binary_end_ms = exec->end_unix_ms;
      s.binary_signal = exec->end.signal;
      if (std::optional<int> v = FlagValue(exec->argv, "test.parallel")) s.parallel = v;
    } else {
      s.notes.push_back("exec record does not decode: " + exec.status().ToString());
    }
  } else {
    s.notes.push_back("no exec record: the test binary did not end under the wrapper (or never ran)");
  }
  if (!s.max_rss_bytes && record != nullptr && record->binary && record->binary->max_rss_bytes > 0) {
    s.max_rss_bytes = record->binary->max_rss_bytes;
  }

  // The event stream: test spans, GC lines in stream order, build steps killed.
  StreamRead stream;
  gotest::RunSummary summary;
  if (FileText f = ReadHead(attempt_dir, layout.events(), options.max_events_bytes, s); f.exists) {
    if (f.truncated)
      s.notes.push_back("events.jsonl read up to " + std::to_string(options.max_events_bytes) + " bytes");
    stream = ReadStream(f.text, package);
    summary = gotest::SummarizeTestStream(f.text);
    if (stream.dropped_tests) s.notes.push_back("more than " + std::to_string(kMaxTests) + " tests: the rest left out");
  } else {
    s.notes.push_back("no events.jsonl: test spans unknown");
  }
  found = found || stream.saw_package;
  s.tests = std::move(stream.tests);
  const gotest::BuildFailure* killed_build = nullptr;
  for (const gotest::BuildFailure& bf : summary.build_failures) {
    if (bf.signal.empty()) continue;
    const bool ours = std::find(bf.packages.begin(), bf.packages.end(), package) != bf.packages.end() ||
                      gotest::BuildBelongsToPackage(bf.import_path, package);
    if (ours) killed_build = &bf;
  }
  if (killed_build != nullptr) {
    found = true;
    s.killed_build_tool = killed_build->tool;
  }
  const gotest::PackageResult* streamed = summary.FindPackage(package);
  if (record != nullptr && !record->running_tests.empty()) {
    s.running_at_kill = record->running_tests;
  } else if (streamed != nullptr) {
    s.running_at_kill = streamed->running_at_end;
  }

  // Build steps from the toolexec wrapper's log. A step started and not ended (or
  // ended by SIGKILL) when the attempt died was running at the kill.
  std::optional<std::int64_t> last_sample_ms;
  bool build_running = false;
  if (FileText f = ReadHead(attempt_dir, layout.build_log(), evidence::kMaxBuildLogBytes, s); f.exists) {
    if (f.truncated) s.notes.push_back("build.jsonl read up to its cap");
    if (FileText mem = ReadHead(attempt_dir, layout.memory(), options.max_table_bytes, s); mem.exists) {
      for (const evidence::MemorySample& m : evidence::ParseMemoryTimeline(mem.text).samples) {
        last_sample_ms = std::max(last_sample_ms.value_or(m.unix_ms), m.unix_ms);
      }
    }
    for (const evidence::BuildStep& step : evidence::ParseBuildLog(f.text).steps) {
      if (step.package != package) continue;
      BuildStepSample b{.tool = step.tool, .import_path = step.import_path, .start_ms = step.start_unix_ms};
      b.ended = step.ended();
      if (step.end) {
        b.signal = step.end->signal;
        b.exit_code = step.end->exit_code;
        if (step.end->max_rss_bytes > 0) b.max_rss_bytes = step.end->max_rss_bytes;
      }
      const std::optional<std::int64_t> until = step.end_unix_ms ? step.end_unix_ms : last_sample_ms;
      if (until && *until >= step.start_unix_ms) b.ran_ms = *until - step.start_unix_ms;
      build_running = build_running || !b.ended || b.signal == 9;
      if (s.build_steps.size() == kMaxBuildSteps) s.build_steps.erase(s.build_steps.begin());
      s.build_steps.push_back(std::move(b));
    }
  }
  found = found || !s.build_steps.empty();

  // Result and phase.
  std::error_code ec;
  const bool heap_dir = fs::is_directory(layout.heap_dir(package), ec);
  found = found || heap_dir;
  if (options.result) {
    s.result = *options.result;
  } else if (record != nullptr) {
    s.result = ResultOfRecord(*record, killed_build != nullptr);
    if (s.result == PackageResult::kNotRun && !heap_dir && build_running) {
      // go test printed nothing about the package (the kill took the go command, not
      // the compile), but the wrapper's log shows its build step running at the end.
      s.result = PackageResult::kBuildKilled;
      s.notes.push_back("no result from go test while the package's build step was running: taken as a build kill");
    }
  } else if (killed_build != nullptr) {
    s.result = PackageResult::kBuildKilled;
  } else if (s.binary_signal == 9) {
    s.result = PackageResult::kKilled;
  } else if (streamed != nullptr && (streamed->outcome == gotest::PackageOutcome::kPass ||
                                     streamed->outcome == gotest::PackageOutcome::kSkip)) {
    s.result = PackageResult::kPassed;
  } else if (!result && !heap_dir && build_running) {
    s.result = PackageResult::kBuildKilled;
    s.notes.push_back("the attempt died while the package was being built: taken as a build kill");
  } else if (!result && heap_dir && !s.binary_end_ms) {
    // The wrapper makes heap/<pkg>/ before it starts the binary and writes the exec
    // record when it ends: the binary was running when everything died.
    s.result = PackageResult::kKilled;
    s.notes.push_back("the attempt died while the test binary ran: taken as killed");
  }
  if (s.result == PackageResult::kKilled && s.running_at_kill.empty()) {
    for (const TestSpan& t : s.tests) {
      if (!t.ended) s.running_at_kill.push_back(t.name);
    }
  }
  if (options.phase) {
    s.phase = *options.phase;
  } else if (s.result == PackageResult::kBuildKilled) {
    gotest::BuildPhase phase = killed_build ? killed_build->phase : gotest::BuildPhase::kUnknown;
    if (phase == gotest::BuildPhase::kUnknown && killed_build) phase = gotest::PhaseOfTool(killed_build->tool);
    if (phase == gotest::BuildPhase::kUnknown && record) phase = record->build_phase;
    // The step the build log shows running at the kill.
    for (const BuildStepSample& b : s.build_steps) {
      if (phase == gotest::BuildPhase::kUnknown && (!b.ended || b.signal == 9)) {
        phase = b.tool == "link" ? gotest::BuildPhase::kLink : gotest::BuildPhase::kCompile;
      }
    }
    s.phase = phase == gotest::BuildPhase::kLink ? Phase::kLink : Phase::kCompile;
  } else if (s.result == PackageResult::kKilled && stream.saw_package) {
    s.phase = s.tests.empty() ? Phase::kInit : Phase::kTestRun;
  }

  // When the binary's runtime started, to time its GC lines ("@T" counts from there).
  // go test stamps a line when it reads it, never before the binary printed it, so the
  // smallest event time minus @T is the closest estimate; the exec record's start is
  // earlier by the time the binary takes to load, and the package's start event
  // earlier still.
  std::optional<std::int64_t> start_ms;
  const int last_stream_process = stream.gc.empty() ? 0 : stream.gc.back().process;
  for (const StreamGcLine& g : stream.gc) {
    if (g.process != last_stream_process || !g.unix_ms) continue;
    const std::int64_t estimate = *g.unix_ms - GcMillis(g.cycle.seconds_since_start);
    start_ms = std::min(start_ms.value_or(estimate), estimate);
  }
  if (start_ms && s.binary_start_ms) start_ms = std::max(*start_ms, *s.binary_start_ms);
  if (!start_ms) start_ms = s.binary_start_ms;
  if (!start_ms && stream.package_start_ms) start_ms = stream.package_start_ms;
  s.started_ms = start_ms;

  // Heap snapshots.
  for (const evidence::HeapSnapshotLine& line : ReadSnapshotLines(
           attempt_dir, layout.heap_dir(package) + "/" + std::string(evidence::kHeapSnapshotsFile), options, s)) {
    if (s.heap.size() >= kMaxHeapSamples) break;
    s.heap.push_back({.unix_ms = line.unix_ms,
                      .seq = line.seq,
                      .goroutines = line.goroutines,
                      .heap_alloc = line.heap_alloc,
                      .heap_inuse = line.heap_inuse,
                      .heap_sys = line.heap_sys,
                      .next_gc = line.next_gc,
                      .progress = ProgressAt(s.tests, line.unix_ms)});
  }

  // GC trace: the wrapper's file, attributed through the stream where it has the line.
  std::vector<GcFileLine> gc_lines;
  if (FileText f = ReadHead(attempt_dir, layout.gctrace(package), options.max_table_bytes, s); f.exists) {
    found = true;
    s.gctrace_recorded = true;
    if (f.truncated) s.notes.push_back("GC trace read up to " + std::to_string(options.max_table_bytes) + " bytes");
    std::size_t malformed = 0;
    gc_lines = ParseGcFile(f.text, malformed);
    if (malformed > 0) s.notes.push_back(std::to_string(malformed) + " GC trace lines did not parse");
  } else if (!stream.gc.empty()) {
    s.gctrace_recorded = true;
    s.notes.push_back("no GC trace file: GC lines taken from the event stream");
  }
  // Only the last process: the exec record and the stream's latest run describe it.
  const int last_process = gc_lines.empty() ? 0 : gc_lines.back().process;
  if (!gc_lines.empty() && gc_lines.front().process != last_process) {
    s.notes.push_back("GC lines of earlier processes of the package left out");
  }
  std::map<std::uint64_t, const StreamGcLine*> by_number;
  for (const StreamGcLine& g : stream.gc) {
    if (g.process == last_stream_process) by_number[g.cycle.number] = &g;
  }
  for (const GcFileLine& line : gc_lines) {
    if (line.process != last_process) continue;
    GcSample g{.number = line.cycle.number,
               .seconds = line.cycle.seconds_since_start,
               .heap_start = line.cycle.heap_start_bytes,
               .heap_end = line.cycle.heap_end_bytes,
               .live = line.cycle.live_heap_bytes,
               .goal = line.cycle.goal_bytes,
               .stacks = line.cycle.stacks_bytes.value_or(0),
               .forced = line.cycle.forced};
    if (start_ms) g.unix_ms = *start_ms + GcMillis(line.cycle.seconds_since_start);
    if (auto it = by_number.find(g.number); it != by_number.end()) {
      g.progress = it->second->progress;
      g.attributed_by_stream = true;
    } else if (g.unix_ms) {
      g.progress = ProgressAt(s.tests, *g.unix_ms);
    }
    if (line.cycle.procs > 0) s.gomaxprocs = line.cycle.procs;
    s.gc.push_back(std::move(g));
  }
  if (gc_lines.empty()) {
    // No file (an older agent, or it could not be written): the stream's lines, timed
    // by go test's reading of them.
    for (const StreamGcLine& line : stream.gc) {
      if (line.process != last_stream_process) continue;
      s.gc.push_back({.number = line.cycle.number,
                      .seconds = line.cycle.seconds_since_start,
                      .unix_ms = line.unix_ms,
                      .heap_start = line.cycle.heap_start_bytes,
                      .heap_end = line.cycle.heap_end_bytes,
                      .live = line.cycle.live_heap_bytes,
                      .goal = line.cycle.goal_bytes,
                      .stacks = line.cycle.stacks_bytes.value_or(0),
                      .forced = line.cycle.forced,
                      .progress = line.progress,
                      .attributed_by_stream = true});
      if (line.cycle.procs > 0) s.gomaxprocs = line.cycle.procs;
    }
  }

  // The cgroup's memory over the attempt.
  if (FileText f = ReadHead(attempt_dir, layout.memory(), options.max_table_bytes, s); f.exists) {
    if (f.truncated) s.notes.push_back("memory.tsv read up to " + std::to_string(options.max_table_bytes) + " bytes");
    const evidence::MemoryTimeline timeline = evidence::ParseMemoryTimeline(f.text);
    for (const evidence::MemorySample& m : timeline.samples) {
      s.cgroup.push_back({.unix_ms = m.unix_ms, .usage_bytes = m.usage_bytes, .anon_bytes = m.anon_bytes});
      if (!s.limit_bytes && m.limit_bytes) s.limit_bytes = m.limit_bytes;
      s.cgroup_peak_bytes = std::max(s.cgroup_peak_bytes.value_or(0), m.usage_bytes);
    }
  }

  if (heap_dir) ReadProfiles(attempt_dir, layout.heap_dir(package), options, s);
  if (s.heap.empty() && heap_dir)
    s.notes.push_back("no heap snapshot was taken (the binary ended before the first interval)");

  if (!found) return NotFoundError("no evidence of " + std::string(package) + " in " + attempt_dir);
  return s;
}

void NoteKilledAtLimit(PackageSignals& s) {
  if (!s.limit_bytes) return;
  std::optional<std::int64_t> last = s.binary_end_ms;
  auto seen = [&](std::optional<std::int64_t> ms) {
    if (ms) last = std::max(last.value_or(*ms), *ms);
  };
  for (const CgroupSample& c : s.cgroup) seen(c.unix_ms);
  for (const GcSample& g : s.gc) seen(g.unix_ms);
  for (const HeapSample& h : s.heap) seen(h.unix_ms);
  for (const TestSpan& t : s.tests) {
    seen(t.start_ms);
    seen(t.resume_ms);
    seen(t.end_ms);
  }
  s.cgroup_peak_bytes = std::max(s.cgroup_peak_bytes.value_or(0), *s.limit_bytes);
  if (last && (s.cgroup.empty() || s.cgroup.back().usage_bytes < *s.limit_bytes))
    s.cgroup.push_back({std::max(*last, s.cgroup.empty() ? *last : s.cgroup.back().unix_ms), *s.limit_bytes});
}

}  // namespace gotestrun::cause
