#include "cli/agent_path.h"

#include <unistd.h>

#include <filesystem>

namespace gotestrun::cli {
namespace {

namespace fs = std::filesystem;

bool Executable(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::vector<std::string> AgentCandidates(const std::string& explicit_path, const std::string& self_exe,
                                         const std::string& path_env) {
  if (!explicit_path.empty()) return {explicit_path};
  std::vector<std::string> out;
  if (!self_exe.empty()) {
    fs::path dir = fs::path(self_exe).parent_path();
    out.push_back((dir / kAgentName).string());
    // The build tree: build/cli/gotestrun beside build/agent/gotestrun-agent.
    out.push_back((dir / ".." / "agent" / kAgentName).lexically_normal().string());
  }
  size_t start = 0;
  while (start <= path_env.size() && !path_env.empty()) {
    size_t colon = path_env.find(':', start);
    std::string dir = path_env.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty()) out.push_back((fs::path(dir) / kAgentName).string());
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

StatusOr<std::string> FindAgent(const std::string& explicit_path, const std::string& self_exe,
                                const std::string& path_env) {
  std::vector<std::string> candidates = AgentCandidates(explicit_path, self_exe, path_env);
  for (const std::string& c : candidates) {
    if (Executable(c)) return fs::absolute(c).lexically_normal().string();
  }
  if (!explicit_path.empty()) return NotFoundError("--agent " + explicit_path + " is not an executable file");
  std::string looked;
  for (size_t i = 0; i < candidates.size() && i < 4; ++i) looked += (looked.empty() ? "" : ", ") + candidates[i];
  if (candidates.size() > 4) looked += " and $PATH";
  return NotFoundError(std::string("cannot find ") + kAgentName + " (looked at " + looked +
                       "); build it (ninja gotestrun-agent) or give --agent PATH");
}

}  // namespace gotestrun::cli
