// The folder a local run writes, and reads back for `gotestrun describe RUN_DIR`:
//
//   RUN_DIR/
//     run.yaml           the GoTestRun as run (apiVersion, kind, metadata, spec)
//     status.yaml        its .status exactly as the operator writes it (engine/),
//                        rewritten atomically after every change
//     plan/packages.json what `gotestrun-agent list` found; plan/list.log its output
//     s<i>/a<k>/         each shard attempt's evidence folder, plus agent.log, the
//                        agent's own output
//     report.html, junit.xml   at the end
//
// plan/ and s<i>/a<k>/ are the evidence contract's run folder (core/evidence/evidence.h),
// the shape the operator's profiles volume has under <ns>/<run>.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "core/evidence/evidence.h"

namespace gotestrun::cli {

// Paths inside a local run folder.
class LocalRunLayout {
 public:
  explicit LocalRunLayout(std::string dir) : evidence_(std::move(dir)) {}
  const std::string& dir() const { return evidence_.dir(); }
  std::string run_yaml() const { return dir() + "/run.yaml"; }
  std::string status_yaml() const { return dir() + "/status.yaml"; }
  std::string plan_dir() const { return evidence_.plan_dir(); }
  std::string packages_json() const { return evidence_.packages(); }
  std::string list_log() const { return plan_dir() + "/list.log"; }
  std::string attempt_dir(int shard, int attempt) const { return evidence_.attempt_dir(shard, attempt); }
  std::string report_html() const { return dir() + "/report.html"; }
  std::string junit_xml() const { return dir() + "/junit.xml"; }

 private:
  evidence::RunLayout evidence_;
};

// run.yaml: the object as YAML, after a comment saying how it was run. Atomic.
Status WriteRunYaml(const LocalRunLayout& folder, const nlohmann::json& object);
// status.yaml: the status as YAML. Atomic; `in_place_if_full`, for the last word of a
// run on a full disk, then falls back to rewriting the file in place, whose own space is
// often all that is left.
Status WriteStatusYaml(const LocalRunLayout& folder, const nlohmann::json& status, bool in_place_if_full = false);
// The GoTestRun of a run folder: run.yaml with status.yaml as its .status (absent
// while the run has not written one). NotFound when `dir` holds no run.yaml.
StatusOr<nlohmann::json> LoadRunObject(const std::string& dir);

// The annotation naming the gotestrun process that runs the folder: "<pid> <start
// time of that pid in clock ticks after boot>" (a pid alone may be reused).
inline constexpr char kOwnerAnnotation[] = "gotestrun.dev/local-owner";
// The value of kOwnerAnnotation for this process.
std::string OwnerOfThisProcess();

// A run whose gotestrun was killed (SIGKILL, a crash, a reboot) leaves status.yaml
// saying Pending, Planning or Running for good. When the folder's owner is gone, its
// status is ended: attempts without an end Failed ("interrupted"), the run Failed with
// the condition reason Interrupted and a message naming the owner. Returns whether it
// did; a folder with a live owner, a settled status or no owner annotation is left as
// it is.
StatusOr<bool> EndAbandonedRun(const std::string& dir);

}  // namespace gotestrun::cli
