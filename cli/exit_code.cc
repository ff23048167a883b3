#include "cli/exit_code.h"

#include <string>

namespace gotestrun::cli {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

int ExitCodeOf(const json& status) {
  if (Str(status, "phase") == "Succeeded") return kExitPassed;
  if (status.is_object() && status.contains("conditions") && status["conditions"].is_array()) {
    for (const json& c : status["conditions"]) {
      if (Str(c, "type") == "Succeeded" && Str(c, "reason") == kInterruptedReason) return kExitInterrupted;
    }
  }
  bool failed = false, did_not_fit = false;
  if (status.is_object() && status.contains("packages") && status["packages"].is_array()) {
    for (const json& p : status["packages"]) {
      std::string outcome = Str(p, "outcome");
      if (outcome == "TestsFailed" || outcome == "BuildFailed") failed = true;
      if (outcome == "OOMKilled" || outcome == "MemoryStall") did_not_fit = true;
    }
  }
  if (failed) return kExitFailed;
  return did_not_fit ? kExitDoesNotFit : kExitFailed;
}

}  // namespace gotestrun::cli
