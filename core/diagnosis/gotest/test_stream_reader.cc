#include "core/diagnosis/gotest/test_stream_reader.h"

#include <algorithm>
#include <utility>

namespace gotestrun::gotest {
namespace {

// t.Attr is meant for a few labels per test; more than this are dropped.
constexpr std::size_t kMaxAttributes = 64;

std::string_view ParentTest(std::string_view test) {
  const std::size_t slash = test.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : test.substr(0, slash);
}

// Whether `test` is `ancestor` or runs under it ("TestA/x/y" under "TestA").
bool IsTestOrSubtest(std::string_view test, std::string_view ancestor) {
  return test.starts_with(ancestor) && (test.size() == ancestor.size() || test[ancestor.size()] == '/');
}

// Plain go test output after a "# <id>" header belongs to that build until the test
// output or the results start again.
bool EndsTextBuildBlock(std::string_view line) {
  return line.starts_with("=== ") || line.starts_with("--- ") || line.starts_with("    ") || line == "PASS" ||
         line == "FAIL";
}

void AddUnique(std::vector<std::string>& names, std::string_view name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
}

}  // namespace

TestStreamReader::TestStreamReader(ReaderLimits limits, OutputSink on_output)
    : limits_(limits), on_output_(std::move(on_output)), splitter_(limits.max_line_bytes) {}

void TestStreamReader::Feed(std::string_view bytes) {
  if (finished_) return;
  summary_.stats.bytes += bytes.size();
  splitter_.Feed(bytes, [this](std::string_view line, bool truncated) { OnLine(line, truncated); });
}

void TestStreamReader::Finish() {
  if (finished_) return;
  splitter_.Finish([this](std::string_view line, bool truncated) { OnLine(line, truncated); });
  finished_ = true;
  for (std::size_t p = 0; p < summary_.packages.size(); ++p) {
    FlushOutput(p);
    if (!states_[p].ended) {
      CloseTests(p);
      Resolve(p);
    }
  }
}

void TestStreamReader::OnLine(std::string_view line, bool truncated) {
  StreamStats& stats = summary_.stats;
  ++stats.lines;
  if (truncated) ++stats.truncated_lines;
  const std::size_t first = line.find_first_not_of(" \t");
  if (first != std::string_view::npos && line[first] == '{') {
    StatusOr<TestEvent> event = ParseTestEvent(line);
    if (!event.ok()) {
      ++stats.malformed_lines;
      return;
    }
    ++stats.events;
    OnEvent(std::move(event).value());
    return;
  }
  ++stats.text_lines;
  OnTextLine(line);
}

void TestStreamReader::OnEvent(TestEvent&& event) {
  if (event.action == TestAction::kUnknown) ++summary_.stats.unknown_actions;
  if (event.is_build_event()) {
    ++summary_.stats.build_events;
    OnBuildEvent(event);
    return;
  }
  if (event.package.empty()) return;

  const std::size_t p = RunOf(event.package);
  if (event.action == TestAction::kOutput) {
    if (event.output) AddOutput(p, event.test, *event.output);
    return;
  }
  // test2json flushes a partial output line before it writes any other event.
  FlushOutput(p);

  switch (event.action) {
    case TestAction::kRun: {
      if (event.test.empty()) break;
      // Siblings run one at a time (parallel ones pause first), so a sibling still
      // running, and whatever runs under it, has ended without a result line:
      // benchmarks print none.
      PackageState& state = states_[p];
      const std::string_view parent = ParentTest(event.test);
      std::vector<std::string> ended;
      for (const std::string& other : state.running) {
        if (other != event.test && ParentTest(other) == parent) ended.push_back(other);
      }
      std::erase_if(state.running, [&](const std::string& other) {
        const bool gone = std::any_of(ended.begin(), ended.end(),
                                      [&other](const std::string& sibling) { return IsTestOrSubtest(other, sibling); });
        if (gone) Test(p, other).outcome = TestOutcome::kNoResult;
        return gone;
      });
      Test(p, event.test).outcome = TestOutcome::kRunning;
      SetRunning(p, event.test, true);
      break;
    }
    case TestAction::kCont:
      if (event.test.empty()) break;
      Test(p, event.test).outcome = TestOutcome::kRunning;
      SetRunning(p, event.test, true);
      break;
    case TestAction::kPause:
      if (event.test.empty()) break;
      Test(p, event.test).outcome = TestOutcome::kPaused;
      SetRunning(p, event.test, false);
      break;
    case TestAction::kPass:
    case TestAction::kFail:
    case TestAction::kSkip:
    case TestAction::kBench:
      if (event.test.empty()) {
        if (event.action != TestAction::kBench) EndPackage(p, event);
        break;
      }
      EndTest(p, event,
              event.action == TestAction::kPass   ? TestOutcome::kPass
              : event.action == TestAction::kFail ? TestOutcome::kFail
              : event.action == TestAction::kSkip ? TestOutcome::kSkip
                                                  : TestOutcome::kBench);
      break;
    case TestAction::kAttr:
      if (!event.test.empty()) {
        TestResult& test = Test(p, event.test);
        if (test.attributes.size() < kMaxAttributes) test.attributes.emplace_back(event.key, event.value);
      }
      break;
    default: break;  // start, artifacts, unknown actions: nothing to derive
  }
}

void TestStreamReader::OnBuildEvent(const TestEvent& event) {
  if (event.action == TestAction::kBuildOutput && event.output) {
    std::string_view output = *event.output;
    while (!output.empty()) {
      const std::size_t newline = output.find('\n');
      std::string_view line = output.substr(0, newline);
      if (line.ends_with('\r')) line.remove_suffix(1);
      AddBuildLine(event.import_path, line, /*from_text=*/false);
      if (newline == std::string_view::npos) break;
      output.remove_prefix(newline + 1);
    }
  } else if (event.action == TestAction::kBuildFail) {
    FailedBuild(event.import_path);
  }
}

void TestStreamReader::OnTextLine(std::string_view line) {
  const TextLine text = ClassifyTextLine(line);
  switch (text.kind) {
    case TextLineKind::kBuildHeader:
      text_build_block_ = std::string(text.package);
      AddBuildLine(text_build_block_, line, /*from_text=*/true);
      break;
    case TextLineKind::kVetHeader:
      if (!text_build_block_.empty()) AddBuildLine(text_build_block_, line, /*from_text=*/true);
      break;
    case TextLineKind::kBuildStepSignal: AddBuildLine(text.package, line, /*from_text=*/true); break;
    case TextLineKind::kPackagePass:
    case TextLineKind::kPackageFail:
    case TextLineKind::kPackageBuildFailed:
    case TextLineKind::kPackageSetupFailed:
    case TextLineKind::kPackageNoTestFiles:
      text_build_block_.clear();
      ApplyTextResult(text, line);
      break;
    case TextLineKind::kProcessSignal:
      text_signal_ = std::string(text.signal);
      if (text.signal == "killed") text_saw_signal_killed_ = true;
      break;
    case TextLineKind::kTimeout:
      text_timed_out_ = true;
      if (line.starts_with("panic: ") && text_panic_.empty()) text_panic_ = std::string(line);
      break;
    case TextLineKind::kPanic:
      if (text_panic_.empty()) text_panic_ = std::string(line);
      break;
    case TextLineKind::kOther:
      if (!text_build_block_.empty()) {
        if (EndsTextBuildBlock(line)) {
          text_build_block_.clear();
        } else {
          AddBuildLine(text_build_block_, line, /*from_text=*/true);
        }
      }
      // The signal only counts when go test's FAIL line follows it directly.
      if (const auto glued = GluedProcessSignal(line)) {
        text_signal_ = std::string(*glued);
        if (*glued == "killed") text_saw_signal_killed_ = true;
      } else if (!line.empty()) {
        text_signal_.clear();
      }
      break;
  }
  if (on_output_) on_output_(OutputLine{.package = {}, .test = {}, .text = line, .running_tests = {}});
}

std::size_t TestStreamReader::RunOf(std::string_view name) {
  if (const auto it = latest_run_.find(name); it != latest_run_.end() && !states_[it->second].ended) {
    return it->second;
  }
  const std::size_t index = summary_.packages.size();
  PackageResult& result = summary_.packages.emplace_back();
  result.name = std::string(name);
  result.output = OutputTail(limits_.test_output);
  states_.emplace_back(limits_.max_line_bytes);
  latest_run_.insert_or_assign(std::string(name), index);
  return index;
}

TestResult& TestStreamReader::Test(std::size_t package, std::string_view name) {
  PackageState& state = states_[package];
  std::vector<TestResult>& tests = summary_.packages[package].tests;
  if (const auto it = state.test_index.find(name); it != state.test_index.end()) return tests[it->second];
  state.test_index.emplace(std::string(name), tests.size());
  TestResult& test = tests.emplace_back();
  test.name = std::string(name);
  test.output = OutputTail(limits_.test_output);
  return test;
}

void TestStreamReader::SetRunning(std::size_t package, std::string_view test, bool running) {
  std::vector<std::string>& list = states_[package].running;
  const auto it = std::find(list.begin(), list.end(), test);
  if (running && it == list.end()) list.emplace_back(test);
  if (!running && it != list.end()) list.erase(it);
}

void TestStreamReader::EndTest(std::size_t package, const TestEvent& event, TestOutcome outcome) {
  TestResult& test = Test(package, event.test);
  test.outcome = outcome;
  test.elapsed_seconds = event.elapsed_seconds;
  SetRunning(package, event.test, false);
}

void TestStreamReader::EndPackage(std::size_t package, const TestEvent& event) {
  PackageState& state = states_[package];
  PackageResult& result = summary_.packages[package];
  state.final_action = event.action;
  result.elapsed_seconds = event.elapsed_seconds;
  if (!event.failed_build.empty()) {
    result.failed_build = event.failed_build;
    LinkBuildToPackage(FailedBuild(event.failed_build), result.name);
  }
  state.ended = true;
  CloseTests(package);
  Resolve(package);
}

void TestStreamReader::CloseTests(std::size_t package) {
  PackageState& state = states_[package];
  PackageResult& result = summary_.packages[package];
  const bool passed = state.final_action == TestAction::kPass;
  if (!passed) result.running_at_end = state.running;
  for (TestResult& test : result.tests) {
    if (test.outcome == TestOutcome::kPaused && !passed) result.paused_at_end.push_back(test.name);
    if (test.outcome == TestOutcome::kRunning || test.outcome == TestOutcome::kPaused) {
      test.outcome = TestOutcome::kNoResult;
    }
  }
  state.running.clear();
}

void TestStreamReader::Resolve(std::size_t package) {
  const PackageState& state = states_[package];
  PackageResult& result = summary_.packages[package];
  if (!state.final_action) {
    result.outcome = finished_ ? PackageOutcome::kNoResult : PackageOutcome::kRunning;
    return;
  }
  if (state.build_failed || !result.failed_build.empty()) {
    result.outcome = PackageOutcome::kBuildFailed;
    return;
  }
  switch (*state.final_action) {
    case TestAction::kPass: result.outcome = PackageOutcome::kPass; break;
    case TestAction::kSkip: result.outcome = PackageOutcome::kSkip; break;
    default: result.outcome = result.exit_signal.empty() ? PackageOutcome::kFail : PackageOutcome::kKilled; break;
  }
}

void TestStreamReader::AddOutput(std::size_t package, std::string_view test, std::string_view chunk) {
  PackageState& state = states_[package];
  if (state.output_test != test) {
    FlushOutput(package);
    state.output_test = std::string(test);
  }
  state.output_lines.Feed(chunk, [this, package](std::string_view line, bool truncated) {
    if (truncated) ++summary_.stats.truncated_lines;
    OnOutputLine(package, states_[package].output_test, line);
  });
}

void TestStreamReader::FlushOutput(std::size_t package) {
  PackageState& state = states_[package];
  if (state.output_lines.pending_bytes() == 0) return;
  state.output_lines.Finish([this, package](std::string_view line, bool truncated) {
    if (truncated) ++summary_.stats.truncated_lines;
    OnOutputLine(package, states_[package].output_test, line);
  });
}

void TestStreamReader::OnOutputLine(std::size_t package, std::string_view test, std::string_view line) {
  PackageState& state = states_[package];
  PackageResult& result = summary_.packages[package];
  if (test.empty()) {
    result.output.Add(line);
  } else {
    Test(package, test).output.Add(line);
  }

  // Inside a package's own output only the forms go test writes about that package
  // count; anything else there was printed by the tests.
  const TextLine text = ClassifyTextLine(line);
  switch (text.kind) {
    case TextLineKind::kProcessSignal:
      if (text.signal == "killed") result.saw_signal_killed = true;
      state.candidate_signal = std::string(text.signal);
      break;
    case TextLineKind::kPackageFail:
      if (text.package == result.name && !state.candidate_signal.empty()) {
        result.exit_signal = state.candidate_signal;
        Resolve(package);
      }
      state.candidate_signal.clear();
      break;
    case TextLineKind::kPackageBuildFailed:
    case TextLineKind::kPackageSetupFailed:
      if (text.package == result.name) {
        MarkBuildFailed(package);
        if (text.kind == TextLineKind::kPackageSetupFailed) {
          BuildFailure& failure = FailedBuild(result.name);
          if (failure.phase == BuildPhase::kUnknown) failure.phase = BuildPhase::kSetup;
          LinkBuildToPackage(failure, result.name);
        }
      }
      state.candidate_signal.clear();
      break;
    case TextLineKind::kTimeout:
      result.timed_out = true;
      if (line.starts_with("panic: ") && result.panic.empty()) result.panic = std::string(line);
      state.candidate_signal.clear();
      break;
    case TextLineKind::kPanic:
      if (result.panic.empty()) result.panic = std::string(line);
      state.candidate_signal.clear();
      break;
    case TextLineKind::kOther:
      if (const auto glued = GluedProcessSignal(line)) {
        if (*glued == "killed") result.saw_signal_killed = true;
        state.candidate_signal = std::string(*glued);
      } else if (!line.empty()) {
        state.candidate_signal.clear();
      }
      break;
    default: state.candidate_signal.clear(); break;
  }

  if (on_output_) {
    on_output_(OutputLine{.package = result.name, .test = test, .text = line, .running_tests = state.running});
  }
}

void TestStreamReader::AddBuildLine(std::string_view import_path, std::string_view line, bool from_text) {
  const TextLine text = ClassifyTextLine(line);
  const bool killed_tool = text.kind == TextLineKind::kBuildStepSignal;
  BuildFailure* build = nullptr;
  if (killed_tool) {
    // A tool ended by a signal is a failed build whatever follows.
    build = &FailedBuild(import_path);
  } else if (const auto it = failed_builds_.find(import_path); it != failed_builds_.end()) {
    build = &summary_.build_failures[it->second];
  } else {
    auto pending = pending_builds_.find(import_path);
    if (pending == pending_builds_.end()) {
      PendingBuild fresh;
      fresh.failure.import_path = std::string(import_path);
      fresh.failure.output = OutputTail(limits_.build_output);
      fresh.from_text = from_text;
      while (pending_builds_.size() >= std::max<std::size_t>(limits_.max_pending_builds, 1) &&
             !pending_order_.empty()) {
        pending_builds_.erase(pending_order_.front());
        pending_order_.pop_front();
      }
      pending = pending_builds_.emplace(std::string(import_path), std::move(fresh)).first;
      pending_order_.emplace_back(import_path);
    }
    if (IsGoSourcePosition(line) || IsLinkerMessage(line)) pending->second.shows_error = true;
    build = &pending->second.failure;
  }

  build->output.Add(line);
  if (killed_tool) {
    build->tool = std::string(text.tool);
    build->signal = std::string(text.signal);
    if (const BuildPhase phase = PhaseOfTool(text.tool); phase != BuildPhase::kUnknown) build->phase = phase;
  } else if (build->phase == BuildPhase::kUnknown) {
    if (text.kind == TextLineKind::kVetHeader) {
      build->phase = BuildPhase::kVet;
    } else if (IsLinkerMessage(line)) {
      build->phase = BuildPhase::kLink;
    } else if (IsGoSourcePosition(line)) {
      build->phase = BuildPhase::kCompile;
    }
  }
}

BuildFailure& TestStreamReader::FailedBuild(std::string_view import_path) {
  if (const auto it = failed_builds_.find(import_path); it != failed_builds_.end()) {
    return summary_.build_failures[it->second];
  }
  const std::size_t index = summary_.build_failures.size();
  if (const auto pending = pending_builds_.find(import_path); pending != pending_builds_.end()) {
    summary_.build_failures.push_back(std::move(pending->second.failure));
    pending_builds_.erase(pending);
    std::erase(pending_order_, import_path);
  } else {
    BuildFailure& failure = summary_.build_failures.emplace_back();
    failure.import_path = std::string(import_path);
    failure.output = OutputTail(limits_.build_output);
  }
  failed_builds_.emplace(std::string(import_path), index);
  return summary_.build_failures[index];
}

void TestStreamReader::LinkBuildToPackage(BuildFailure& build, std::string_view package) {
  AddUnique(build.packages, package);
}

void TestStreamReader::MarkBuildFailed(std::size_t package) {
  states_[package].build_failed = true;
  const std::string name = summary_.packages[package].name;
  bool claimed = false;
  for (BuildFailure& failure : summary_.build_failures) {
    if (BuildBelongsToPackage(failure.import_path, name)) {
      LinkBuildToPackage(failure, name);
      claimed = true;
    }
  }
  std::vector<std::string> own;
  std::vector<std::string> unclaimed_errors;
  for (const auto& [import_path, pending] : pending_builds_) {
    if (BuildBelongsToPackage(import_path, name)) {
      own.push_back(import_path);
    } else if (pending.from_text && pending.shows_error) {
      unclaimed_errors.push_back(import_path);
    }
  }
  // Without build events (before Go 1.24) nothing names the dependency that broke a
  // package; the text build output with errors that no package claimed is the best
  // guess.
  const std::vector<std::string>& promote = !own.empty() || claimed ? own : unclaimed_errors;
  for (const std::string& import_path : promote) LinkBuildToPackage(FailedBuild(import_path), name);
  Resolve(package);
}

void TestStreamReader::ApplyTextResult(const TextLine& text, std::string_view line) {
  const std::size_t p = RunOf(text.package);
  PackageState& state = states_[p];
  PackageResult& result = summary_.packages[p];
  result.output.Add(line);
  result.saw_signal_killed = result.saw_signal_killed || text_saw_signal_killed_;
  result.timed_out = result.timed_out || text_timed_out_;
  if (result.panic.empty()) result.panic = text_panic_;
  result.elapsed_seconds = text.seconds;

  switch (text.kind) {
    case TextLineKind::kPackagePass: state.final_action = TestAction::kPass; break;
    case TextLineKind::kPackageNoTestFiles: state.final_action = TestAction::kSkip; break;
    case TextLineKind::kPackageFail:
      state.final_action = TestAction::kFail;
      result.exit_signal = text_signal_;
      break;
    default:
      state.final_action = TestAction::kFail;
      MarkBuildFailed(p);
      if (text.kind == TextLineKind::kPackageSetupFailed) {
        BuildFailure& failure = FailedBuild(result.name);
        if (failure.phase == BuildPhase::kUnknown) failure.phase = BuildPhase::kSetup;
        LinkBuildToPackage(failure, result.name);
      }
      break;
  }
  state.ended = true;
  CloseTests(p);
  Resolve(p);

  text_signal_.clear();
  text_panic_.clear();
  text_saw_signal_killed_ = false;
  text_timed_out_ = false;
}

RunSummary SummarizeTestStream(std::string_view stream, ReaderLimits limits, OutputSink on_output) {
  TestStreamReader reader(limits, std::move(on_output));
  reader.Feed(stream);
  reader.Finish();
  return reader.summary();
}

}  // namespace gotestrun::gotest
