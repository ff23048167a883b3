#include "core/diagnosis/gotest/run_summary.h"

namespace gotestrun::gotest {

std::string_view PackageOutcomeName(PackageOutcome outcome) {
  switch (outcome) {
    case PackageOutcome::kRunning: return "running";
    case PackageOutcome::kPass: return "pass";
    case PackageOutcome::kFail: return "fail";
    case PackageOutcome::kSkip: return "skip";
    case PackageOutcome::kBuildFailed: return "build-failed";
    case PackageOutcome::kKilled: return "killed";
    case PackageOutcome::kNoResult: return "no-result";
  }
  return "unknown";
}

std::string_view TestOutcomeName(TestOutcome outcome) {
  switch (outcome) {
    case TestOutcome::kRunning: return "running";
    case TestOutcome::kPaused: return "paused";
    case TestOutcome::kPass: return "pass";
    case TestOutcome::kFail: return "fail";
    case TestOutcome::kSkip: return "skip";
    case TestOutcome::kBench: return "bench";
    case TestOutcome::kNoResult: return "no-result";
  }
  return "unknown";
}

std::string_view BuildPhaseName(BuildPhase phase) {
  switch (phase) {
    case BuildPhase::kUnknown: return "unknown";
    case BuildPhase::kSetup: return "setup";
    case BuildPhase::kCompile: return "compile";
    case BuildPhase::kLink: return "link";
    case BuildPhase::kVet: return "vet";
  }
  return "unknown";
}

void OutputTail::Add(std::string_view line) {
  if (line.size() > limits_.max_bytes) line = line.substr(0, limits_.max_bytes);
  lines_.emplace_back(line);
  bytes_ += line.size();
  while (!lines_.empty() && (lines_.size() > limits_.max_lines || bytes_ > limits_.max_bytes)) {
    bytes_ -= lines_.front().size();
    lines_.pop_front();
    ++dropped_lines_;
  }
}

std::string OutputTail::Text() const {
  std::string text;
  text.reserve(bytes_ + lines_.size());
  for (const std::string& line : lines_) {
    text += line;
    text += '\n';
  }
  return text;
}

const TestResult* PackageResult::FindTest(std::string_view test_name) const {
  for (const TestResult& test : tests) {
    if (test.name == test_name) return &test;
  }
  return nullptr;
}

const PackageResult* RunSummary::FindPackage(std::string_view name) const {
  for (auto it = packages.rbegin(); it != packages.rend(); ++it) {
    if (it->name == name) return &*it;
  }
  return nullptr;
}

const BuildFailure* RunSummary::FindBuildFailure(std::string_view import_path) const {
  for (const BuildFailure& failure : build_failures) {
    if (failure.import_path == import_path) return &failure;
  }
  return nullptr;
}

}  // namespace gotestrun::gotest
