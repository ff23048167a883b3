#include "agent/go_list.h"

#include <nlohmann/json.hpp>

#include "agent/test_functions.h"
#include "sandbox/child_process.h"

namespace gotestrun::agent {

using evidence::PackageListing;

namespace {

// go list's output for a large monorepo runs to a few MB with the fields we ask for.
constexpr std::size_t kMaxGoListBytes = 256 << 20;

// The end of the JSON value that starts at `begin` (an object or array), or npos.
std::size_t ValueEnd(std::string_view text, std::size_t begin) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = begin; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

std::vector<std::string> Strings(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_array()) return {};
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::string String(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

StatusOr<std::vector<PackageListing>> ParseGoListOutput(std::string_view output) {
  std::vector<PackageListing> packages;
  std::size_t pos = 0;
  for (;;) {
    pos = output.find_first_not_of(" \t\r\n", pos);
    if (pos == std::string_view::npos) break;
    if (output[pos] != '{') return InvalidArgumentError("go list output: expected '{' at byte " + std::to_string(pos));
    const std::size_t end = ValueEnd(output, pos);
    if (end == std::string_view::npos) return InvalidArgumentError("go list output: cut JSON object");
    const nlohmann::json object = nlohmann::json::parse(output.begin() + static_cast<std::ptrdiff_t>(pos),
                                                        output.begin() + static_cast<std::ptrdiff_t>(end), nullptr,
                                                        /*allow_exceptions=*/false);
    if (object.is_discarded() || !object.is_object()) {
      return InvalidArgumentError("go list output: bad JSON object at byte " + std::to_string(pos));
    }
    PackageListing p;
    p.import_path = String(object, "ImportPath");
    p.name = String(object, "Name");
    p.dir = String(object, "Dir");
    p.test_go_files = Strings(object, "TestGoFiles");
    p.x_test_go_files = Strings(object, "XTestGoFiles");
    if (const auto e = object.find("Error"); e != object.end() && e->is_object()) {
      p.error = String(*e, "Err");
      if (p.error.empty()) p.error = "go list could not load the package";
    }
    packages.push_back(std::move(p));
    pos = end;
  }
  return packages;
}

std::vector<std::string> GoListArgv(const std::string& tags, const std::vector<std::string>& patterns) {
  std::vector<std::string> argv{"go", "list", "-e", "-json=" + std::string(kGoListFields)};
  if (!tags.empty()) argv.push_back("-tags=" + tags);
  if (patterns.empty()) {
    argv.push_back("./...");
  } else {
    argv.push_back("--");
    argv.insert(argv.end(), patterns.begin(), patterns.end());
  }
  return argv;
}

Status CheckPatternsMatched(const std::vector<PackageListing>& packages, std::string_view go_list_stderr) {
  if (!packages.empty()) return Status::Ok();
  std::string warnings;
  for (std::size_t at = 0; at < go_list_stderr.size();) {
    std::size_t nl = go_list_stderr.find('\n', at);
    std::string_view line = go_list_stderr.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
    if (line.starts_with("go: warning: ") && line.ends_with(" matched no packages")) {
      warnings.append(line).push_back('\n');
    }
    at = nl == std::string_view::npos ? go_list_stderr.size() : nl + 1;
  }
  return FailedPreconditionError(warnings + "no packages to test");
}

StatusOr<std::vector<PackageListing>> ListPackages(const std::string& module_dir, const std::string& tags,
                                                   const std::vector<std::string>& patterns) {
  // In the agent's process group, so that a signal to the agent's group ends it too.
  sandbox::ChildSpec spec{.argv = GoListArgv(tags, patterns), .working_dir = module_dir, .own_process_group = false};
  StatusOr<sandbox::CapturedRun> run = sandbox::RunCaptured(std::move(spec), kMaxGoListBytes);
  if (!run.ok()) return run.status().Annotate("go list");
  if (run->end.exit_code != 0) {
    std::string err = run->err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return FailedPreconditionError("go list failed (" +
                                   (run->end.signal != 0 ? "signal " + std::to_string(run->end.signal)
                                                         : "exit code " + std::to_string(run->end.exit_code)) +
                                   "): " + err);
  }
  StatusOr<std::vector<PackageListing>> packages = ParseGoListOutput(run->out);
  if (!packages.ok()) return packages.status();
  GTR_RETURN_IF_ERROR(CheckPatternsMatched(*packages, run->err));
  for (PackageListing& p : *packages) {
    if (!p.has_tests() || !p.error.empty()) continue;
    std::vector<std::string> files = p.test_go_files;
    files.insert(files.end(), p.x_test_go_files.begin(), p.x_test_go_files.end());
    p.top_level_tests = CountPackageTests(p.dir, files);
  }
  return packages;
}

}  // namespace gotestrun::agent
