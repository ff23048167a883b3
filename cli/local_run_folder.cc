#include "cli/local_run_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <filesystem>
#include <sstream>

#include "core/api/yaml_json.h"
#include "base/files.h"
#include "core/engine/describe.h"
#include "base/timestamps.h"
#include "cli/exit_code.h"
#include "cli/yaml_text.h"
#include "core/api/status.h"
#include "core/engine/step.h"
#include "sandbox/process_tree.h"

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

Status WriteStatusYaml(const LocalRunLayout& folder, const nlohmann::json& status, bool in_place_if_full) {
  const std::string text = ToYaml(status);
  Status atomic = WriteFileAtomic(folder.status_yaml(), text);
  if (atomic.ok() || !in_place_if_full) return atomic;
  const int fd = ::open(folder.status_yaml().c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return atomic;
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  const bool closed = ::close(fd) == 0;
  return off == text.size() && closed ? Status::Ok() : atomic;
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

std::string OwnerOfThisProcess() {
  return std::to_string(::getpid()) + " " + std::to_string(sandbox::ProcessStartTime(::getpid()).value_or(0));
}

StatusOr<bool> EndAbandonedRun(const std::string& dir) {
  StatusOr<nlohmann::json> run = LoadRunObject(dir);
  if (!run.ok()) return run.status();
  if (!run->contains("status")) return false;
  const nlohmann::json& annotations = (*run)["metadata"].is_object()
                                          ? (*run)["metadata"].value("annotations", nlohmann::json::object())
                                          : nlohmann::json::object();
  if (!annotations.is_object() || !annotations.contains(kOwnerAnnotation) ||
      !annotations[kOwnerAnnotation].is_string()) {
    return false;
  }
  long long pid = 0;
  unsigned long long started = 0;
  std::istringstream owner(annotations[kOwnerAnnotation].get<std::string>());
  if (!(owner >> pid >> started) || pid <= 0 || pid > (1 << 30)) return false;
  api::RunStatus status = api::DecodeStatus((*run)["status"]);
  if (status.settled()) return false;
  if (sandbox::ProcessStartTime(static_cast<pid_t>(pid)) == started) return false;  // still running

  const std::string now = Rfc3339Now();
  const std::string message = "interrupted: gotestrun (pid " + std::to_string(pid) +
                              ") ended without finishing the run (killed, or the machine stopped)";
  for (api::ShardStatus& shard : status.shards) {
    for (api::AttemptStatus& a : shard.attempts) {
      if (!a.outcome.empty() && a.outcome != "Pending" && a.outcome != "Running") continue;
      a.outcome = "Failed";
      if (a.finish_time.empty()) a.finish_time = now;
      a.message = "interrupted: its gotestrun ended";
    }
  }
  engine::FailRun(status, kInterruptedReason, message, status.observed_generation.value_or(1), now);
  GTR_RETURN_IF_ERROR(WriteStatusYaml(LocalRunLayout(dir), api::EncodeStatus(status)));
  return true;
}

}  // namespace gotestrun::cli
