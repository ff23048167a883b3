// The memory history of a suite (engine/history.h) kept in a ConfigMap beside its runs:
// `gotestrun-history-<suite id>`, data key `history.json`.
//
// A ConfigMap rather than a resource of our own: it needs no CRD, `kubectl get cm`
// shows it, `kubectl delete cm` resets a suite's baseline, RBAC for it is ordinary,
// and it is namespaced with the runs so each team owns its history. engine/history.h
// caps it at ~400 KiB, under the 1 MiB an object may hold.
#pragma once

#include <string>

#include "core/engine/history.h"
#include "controllers/gotestrun/objects.h"

namespace gotestrun::controllers {

inline constexpr char kHistoryKey[] = "history.json";

std::string HistoryConfigMapName(const engine::SuiteKey& suite);

// The suite's history; empty when there is none yet. A ConfigMap that does not hold a
// history (edited by hand) is treated as empty and logged, not an error: history only
// makes plans better, a run must not fail for it.
StatusOr<engine::MemoryHistory> LoadHistory(ObjectReader& reader, const std::string& ns, const engine::SuiteKey& suite);

// Folds a finished run's peaks in and writes the ConfigMap (created when missing),
// retrying on a conflict with another run of the same suite finishing at once.
// Returns the packages that grew past `threshold_percent`, judged before this run was
// folded in (and the same answer when the run was already recorded).
StatusOr<std::vector<engine::Growth>> RecordHistory(ObjectReader& reader, ObjectWriter& writer, const std::string& ns,
                                                    const engine::SuiteKey& suite, const engine::RunPeaks& peaks,
                                                    const std::string& run_uid, int threshold_percent,
                                                    const std::string& now);

}  // namespace gotestrun::controllers
