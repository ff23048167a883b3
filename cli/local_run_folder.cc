#include "cli/local_run_folder.h"

#include <filesystem>

#include "core/api/yaml_json.h"
#include "base/files.h"
#include "core/engine/describe.h"
#include "cli/yaml_text.h"

namespace gotestrun::cli {
namespace {

constexpr std::size_t kMaxYaml = 16 << 20;

StatusOr<nlohmann::json> ReadYaml(const std::string& path) {
  StatusOr<std::string> text = ReadFile(path, kMaxYaml);
  if (!text.ok()) return text.status();
  StatusOr<nlohmann::json> j = api::YamlToJson(*text);
  if (!j.ok()) return j.status().Annotate(path);
  return j;
}

}  // namespace

Status WriteRunYaml(const LocalRunLayout& folder, const nlohmann::json& object) {
  std::string header =
      "# A local run of gotestrun: the module in the folder that the annotation\n"
      "# " +
      std::string(engine::kModuleDirAnnotation) +
      " names, tested with the go on PATH, each\n"
      "# shard attempt in a memory cgroup on this machine. spec.source and spec.image are\n"
      "# not used here (a run built from flags has placeholders for them).\n";
  return WriteFileAtomic(folder.run_yaml(), header + ToYaml(object));
}

Status WriteStatusYaml(const LocalRunLayout& folder, const nlohmann::json& status) {
  return WriteFileAtomic(folder.status_yaml(), ToYaml(status));
}

StatusOr<nlohmann::json> LoadRunObject(const std::string& dir) {
  LocalRunLayout folder(dir);
  std::error_code ec;
  if (!std::filesystem::exists(folder.run_yaml(), ec)) {
    return NotFoundError(dir + " is not a run folder of gotestrun run (no run.yaml)");
  }
  StatusOr<nlohmann::json> run = ReadYaml(folder.run_yaml());
  if (!run.ok()) return run.status();
  if (!run->is_object()) return InvalidArgumentError(folder.run_yaml() + ": not a GoTestRun");
  if (std::filesystem::exists(folder.status_yaml(), ec)) {
    StatusOr<nlohmann::json> status = ReadYaml(folder.status_yaml());
    if (!status.ok()) return status.status();
    (*run)["status"] = *status;
  }
  return run;
}

}  // namespace gotestrun::cli
