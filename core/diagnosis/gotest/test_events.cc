#include "core/diagnosis/gotest/test_events.h"

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

namespace gotestrun::gotest {
namespace {

constexpr std::array<std::pair<TestAction, std::string_view>, 13> kActionNames{{
    {TestAction::kStart, "start"},
    {TestAction::kRun, "run"},
    {TestAction::kPause, "pause"},
    {TestAction::kCont, "cont"},
    {TestAction::kPass, "pass"},
    {TestAction::kBench, "bench"},
    {TestAction::kFail, "fail"},
    {TestAction::kOutput, "output"},
    {TestAction::kSkip, "skip"},
    {TestAction::kAttr, "attr"},
    {TestAction::kArtifacts, "artifacts"},
    {TestAction::kBuildOutput, "build-output"},
    {TestAction::kBuildFail, "build-fail"},
}};

// A string field, or nullopt when it is missing or not a string.
std::optional<std::string> StringField(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string StringFieldOrEmpty(const nlohmann::json& object, const char* name) {
  return StringField(object, name).value_or(std::string());
}

}  // namespace

std::string_view TestActionName(TestAction action) {
  for (const auto& [known, name] : kActionNames) {
    if (known == action) return name;
  }
  return "unknown";
}

TestAction TestActionFromName(std::string_view name) {
  for (const auto& [action, known] : kActionNames) {
    if (known == name) return action;
  }
  return TestAction::kUnknown;
}

StatusOr<TestEvent> ParseTestEvent(std::string_view line) {
  try {
    const nlohmann::json object = nlohmann::json::parse(line.begin(), line.end(), /*cb=*/nullptr,
                                                        /*allow_exceptions=*/false);
    if (object.is_discarded()) return InvalidArgumentError("test event: not JSON");
    if (!object.is_object()) return InvalidArgumentError("test event: not a JSON object");
    std::optional<std::string> action = StringField(object, "Action");
    if (!action) return InvalidArgumentError("test event: no string Action");

    TestEvent event;
    event.action = TestActionFromName(*action);
    event.action_name = std::move(*action);
    event.time = StringFieldOrEmpty(object, "Time");
    event.package = StringFieldOrEmpty(object, "Package");
    event.import_path = StringFieldOrEmpty(object, "ImportPath");
    event.test = StringFieldOrEmpty(object, "Test");
    event.output = StringField(object, "Output");
    event.failed_build = StringFieldOrEmpty(object, "FailedBuild");
    event.key = StringFieldOrEmpty(object, "Key");
    event.value = StringFieldOrEmpty(object, "Value");
    event.path = StringFieldOrEmpty(object, "Path");
    if (const auto it = object.find("Elapsed"); it != object.end() && it->is_number()) {
      event.elapsed_seconds = it->get<double>();
    }
    return event;
  } catch (const nlohmann::json::exception& e) {
    // Parsing does not throw with allow_exceptions=false and every access checks the
    // type first; this is the boundary that keeps it that way if either changes.
    return InvalidArgumentError(std::string("test event: ") + e.what());
  }
}

}  // namespace gotestrun::gotest
