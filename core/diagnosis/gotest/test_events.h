// One line of `go test -json` output, decoded. The stream mixes test events
// (cmd/test2json: Time, Action, Package, Test, Elapsed, Output, FailedBuild, Key,
// Value, Path) with build events (Go 1.24+: ImportPath, Action, Output). Decoding
// is tolerant: unknown fields are ignored, a known field of the wrong type is treated
// as absent, an unknown action is kept by name. Only a line that is not a JSON object
// with a string Action is an error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace gotestrun::gotest {

enum class TestAction {
  kStart,  // the package's test binary starts (Go 1.20+)
  kRun,
  kPause,  // t.Parallel: waiting for the serial tests to finish
  kCont,
  kPass,
  kBench,
  kFail,
  kOutput,
  kSkip,
  kAttr,         // t.Attr (Go 1.25+)
  kArtifacts,    // t.ArtifactDir (Go 1.26+)
  kBuildOutput,  // build event: output of a build step
  kBuildFail,    // build event: that build step failed
  kUnknown,
};

std::string_view TestActionName(TestAction action);
TestAction TestActionFromName(std::string_view name);

struct TestEvent {
  std::string time;  // RFC 3339 as printed; empty when the stream has no times
  TestAction action = TestAction::kUnknown;
  std::string action_name;  // as printed, so that an unknown action can be reported
  std::string package;      // test events: the package's import path
  std::string import_path;  // build events: the package ID being built, e.g. "p [p.test]"
  std::string test;         // empty for package-level events
  std::optional<double> elapsed_seconds;
  std::optional<std::string> output;
  std::string failed_build;  // on a package "fail": the package ID whose build broke it
  std::string key;           // attr
  std::string value;         // attr
  std::string path;          // artifacts

  bool is_build_event() const { return action == TestAction::kBuildOutput || action == TestAction::kBuildFail; }
};

// InvalidArgument when the line is not a JSON object with a string "Action".
StatusOr<TestEvent> ParseTestEvent(std::string_view line);

}  // namespace gotestrun::gotest
