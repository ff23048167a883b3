#include "tests/node/canned_evidence.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "base/files.h"
#include "core/evidence/evidence.h"

namespace gotestrun::testing {
namespace {

namespace fs = std::filesystem;

std::string KeyOf(std::vector<std::string> packages) {
  std::sort(packages.begin(), packages.end());
  std::string key;
  for (const std::string& p : packages) key += p + "\n";
  return key;
}

// The limit an attempt ran under: memory.tsv's samples carry it (usage, limit).
std::uint64_t LimitOf(const evidence::AttemptLayout& a) {
  StatusOr<std::string> text = ReadFile(a.memory(), evidence::kMaxMemoryBytes);
  if (!text.ok()) return 0;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::uint64_t at = 0, usage = 0, limit = 0;
    if (fields >> at >> usage >> limit) return limit;
  }
  return 0;
}

}  // namespace

StatusOr<CannedEvidence> CannedEvidence::Load(const std::string& run_dir) {
  const evidence::RunLayout run(run_dir);
  CannedEvidence canned;
  StatusOr<std::string> plan = ReadFile(run.packages(), evidence::kMaxPackagesBytes);
  if (!plan.ok())
    return FailedPreconditionError("canned evidence " + run_dir + ": no plan: " + plan.status().message());
  canned.plan_packages_ = *std::move(plan);
  std::error_code ec;
  for (const fs::directory_entry& shard : fs::directory_iterator(run_dir, ec)) {
    if (!evidence::ShardOfFolderName(shard.path().filename().string())) continue;
    for (const fs::directory_entry& attempt : fs::directory_iterator(shard.path(), ec)) {
      if (!evidence::AttemptOfFolderName(attempt.path().filename().string())) continue;
      const evidence::AttemptLayout a(attempt.path().string());
      StatusOr<std::string> text = ReadFile(a.packages(), evidence::kMaxPackagesBytes);
      if (!text.ok()) continue;
      StatusOr<std::vector<evidence::PackageListing>> listed = evidence::DecodePackageListings(*text);
      if (!listed.ok()) continue;
      std::vector<std::string> packages;
      for (const evidence::PackageListing& p : *listed) packages.push_back(p.import_path);
      const std::string key = KeyOf(packages);
      if (fs::exists(a.result())) {
        canned.passed_[key] = a.dir();
      } else {
        canned.killed_[key] = {a.dir(), LimitOf(a)};
      }
    }
  }
  if (canned.passed_.empty()) return FailedPreconditionError("canned evidence " + run_dir + ": no attempt that ended");
  return canned;
}

std::optional<CannedAttempt> CannedEvidence::For(const std::vector<std::string>& packages, int attempt,
                                                 std::uint64_t limit_bytes) const {
  const std::string key = KeyOf(packages);
  if (auto k = killed_.find(key); k != killed_.end() && attempt == 1 && limit_bytes <= k->second.limit_bytes) {
    return CannedAttempt{k->second.dir, true};
  }
  if (auto p = passed_.find(key); p != passed_.end()) return CannedAttempt{p->second, false};
  return std::nullopt;
}

Status CopyEvidence(const std::string& from, const std::string& dest) {
  std::error_code ec;
  fs::create_directories(dest, ec);
  fs::copy(from, dest, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  if (ec) return UnavailableError("copy evidence " + from + " -> " + dest + ": " + ec.message());
  return Status::Ok();
}

}  // namespace gotestrun::testing
