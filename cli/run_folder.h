// The folder a local run writes, and reads back for `gotestrun describe RUN_DIR`:
//
//   RUN_DIR/
//     run.yaml           the GoTestRun as run (apiVersion, kind, metadata, spec)
//     status.yaml        its .status exactly as the operator writes it (engine/),
//                        rewritten atomically after every change
//     plan/packages.json what `gotestrun-agent list` found; plan/list.log its output
//     s<i>/a<k>/         each shard attempt's evidence folder (agent/evidence.h), plus
//                        agent.log, the agent's own output
//     report.html, junit.xml   at the end
//
// The operator's profiles volume has the same s<i>/a<k> shape under <ns>/<run>.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace gotestrun::cli {

class RunFolder {
 public:
  explicit RunFolder(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string run_yaml() const { return dir_ + "/run.yaml"; }
  std::string status_yaml() const { return dir_ + "/status.yaml"; }
  std::string plan_dir() const { return dir_ + "/plan"; }
  std::string packages_json() const { return plan_dir() + "/packages.json"; }
  std::string list_log() const { return plan_dir() + "/list.log"; }
  std::string attempt_dir(int shard, int attempt) const {
    return dir_ + "/s" + std::to_string(shard) + "/a" + std::to_string(attempt);
  }
  std::string report_html() const { return dir_ + "/report.html"; }
  std::string junit_xml() const { return dir_ + "/junit.xml"; }

 private:
  std::string dir_;
};

// run.yaml: the object as YAML, after a comment saying how it was run. Atomic.
Status WriteRunYaml(const RunFolder& folder, const nlohmann::json& object);
// status.yaml: the status as YAML. Atomic.
Status WriteStatusYaml(const RunFolder& folder, const nlohmann::json& status);
// The GoTestRun of a run folder: run.yaml with status.yaml as its .status (absent
// while the run has not written one). NotFound when `dir` holds no run.yaml.
StatusOr<nlohmann::json> LoadRunObject(const std::string& dir);

}  // namespace gotestrun::cli
