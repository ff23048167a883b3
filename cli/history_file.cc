#include "cli/history_file.h"

#include <filesystem>

#include "base/files.h"

namespace gotestrun::cli {
namespace {

// engine/history.h caps a history at ~400 KiB.
constexpr std::size_t kMaxHistoryBytes = 4 << 20;

}  // namespace

engine::SuiteKey LocalSuiteKey(const api::GoTestRunSpec& spec) {
  api::GoTestRunSpec local = spec;
  local.git_url.clear();
  local.git_revision.clear();
  local.volume_claim = "local";
  local.volume_sub_path.clear();
  local.module_dir = ".";
  return engine::SuiteKeyOf(local);
}

std::string HistoryFile(const std::string& module_dir, const engine::SuiteKey& suite) {
  return module_dir + "/.gotestrun/history/" + suite.id + ".json";
}

StatusOr<engine::MemoryHistory> LoadHistoryFile(const std::string& path, const engine::SuiteKey& suite) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    engine::MemoryHistory empty;
    empty.suite = suite.description;
    return empty;
  }
  StatusOr<std::string> text = ReadFile(path, kMaxHistoryBytes);
  if (!text.ok()) return text.status();
  StatusOr<engine::MemoryHistory> history = engine::DecodeHistory(*text);
  if (!history.ok()) return history.status().Annotate(path);
  return history;
}

StatusOr<std::vector<engine::Growth>> RecordHistoryFile(const std::string& path, const engine::SuiteKey& suite,
                                                        const engine::RunPeaks& peaks, const std::string& run_uid,
                                                        int threshold_percent, const std::string& now) {
  StatusOr<engine::MemoryHistory> loaded = LoadHistoryFile(path, suite);
  engine::MemoryHistory history;
  if (loaded.ok()) history = *std::move(loaded);
  history.suite = suite.description;
  std::vector<engine::Growth> growth = engine::FindGrowth(history, peaks, run_uid, threshold_percent);
  engine::RecordRun(history, peaks, run_uid, now);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return UnavailableError("cannot make the folder of " + path + ": " + ec.message());
  GTR_RETURN_IF_ERROR(WriteFileAtomic(path, engine::EncodeHistory(history)));
  return growth;
}

}  // namespace gotestrun::cli
