// The memory history (engine/history.h) of a local run's suite, kept in a file in the
// module's folder: MODULE/.gotestrun/history/<suite id>.json, EncodeHistory's JSON
// (the same the operator keeps in its ConfigMap's history.json, so a history can be
// moved between the two).
//
// The suite is keyed as engine::SuiteKeyOf keys it, but with the source taken as the
// module folder itself (which the file's place already says): a run from flags and a
// run of a manifest on the same module, tags and flags share one history.
#pragma once

#include <string>
#include <vector>

#include "core/api/gotestrun.h"
#include "base/status.h"
#include "core/engine/history.h"

namespace gotestrun::cli {

engine::SuiteKey LocalSuiteKey(const api::GoTestRunSpec& spec);
std::string HistoryFile(const std::string& module_dir, const engine::SuiteKey& suite);

// The history in `path`; empty (with the suite's description) when there is none yet.
// An error for a file that cannot be read or decoded: history only makes plans better,
// so the caller goes on without it and says so.
StatusOr<engine::MemoryHistory> LoadHistoryFile(const std::string& path, const engine::SuiteKey& suite);

// Folds a finished run's peaks into the history in `path` and writes it back
// (atomically). Returns the packages that grew past `threshold_percent`, judged
// before this run was folded in. A history that cannot be read is started afresh.
StatusOr<std::vector<engine::Growth>> RecordHistoryFile(const std::string& path, const engine::SuiteKey& suite,
                                                        const engine::RunPeaks& peaks, const std::string& run_uid,
                                                        int threshold_percent, const std::string& now);

}  // namespace gotestrun::cli
