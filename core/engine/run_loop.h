// The run loop, once, for the operator and the local runner.
//
// ReconcileRun is one level-triggered step over the run's status: it looks at how the
// package listing and each shard's latest attempt stand (through a RunDriver), and
// moves the status on as far as that allows:
//
//   not planned        start the listing (phase Planning); once it has ended, plan
//                      the shards from the packages and the memory history (Running)
//   planned            note attempts that started (Running); read the evidence of each
//                      that ended and record it; ask the retry policy what comes next;
//                      record its verdicts and new attempts; settle the run (memory
//                      history, memory gate, phase) when the policy says it is over
//
// It returns the attempts to start, for the caller to start once the status that
// names them is saved: an attempt is never running without a record of it. Calling it
// again with nothing changed changes nothing, and a settled run is left alone.
//
// The operator's driver (controllers/gotestrun) answers with Pods, Events and a
// ConfigMap; the local runner's (cli/local_runner.cc) with process trees, lines on a
// terminal and a history file. Whatever differs between the two lives in a driver.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/api/gotestrun.h"
#include "core/api/status.h"
#include "core/engine/attempt_evidence.h"
#include "core/engine/history.h"
#include "core/engine/run_progress.h"
#include "core/engine/step.h"
#include "core/evidence/evidence.h"
#include "core/policy/plan.h"

namespace gotestrun::engine {

// How something the run started stands.
// kStarting: started but not yet running (a Pod waiting for its node), nothing to note.
enum class Progressing { kNotStarted, kStarting, kRunning, kEnded };

struct ListingObservation {
  Progressing state = Progressing::kNotStarted;
  // Once ended: the packages `gotestrun-agent list` found, or why there are none.
  StatusOr<std::vector<evidence::PackageListing>> listings = InternalError("the listing has not ended");
};

struct AttemptObservation {
  Progressing state = Progressing::kNotStarted;
  std::string started_at;  // RFC 3339, when the driver knows it; else the time it is first seen
  // Once ended:
  ContainerEnd end;
  std::string evidence_dir;  // the attempt's evidence folder, for ReadAttemptEvidence
  bool stopped = false;      // stopped on request: its end says nothing about the tests
  std::string note;          // added to the attempt's message, e.g. how the limit was enforced
};

// The world a run lives in.
class RunDriver {
 public:
  virtual ~RunDriver() = default;

  virtual std::string Now() = 0;  // RFC 3339

  // The package listing of the planning step.
  virtual ListingObservation ObserveListing() = 0;
  virtual Status StartListing() = 0;

  // The suite's memory history: plans are sized from it, and a settled run's peaks are
  // folded into it. RecordHistory returns the packages that grew, or nullopt when no
  // history is kept for this run.
  virtual StatusOr<MemoryHistory> LoadHistory() = 0;
  virtual std::string HistoryName() = 0;  // where it is kept, for people
  virtual StatusOr<std::optional<std::vector<Growth>>> RecordHistory(const RunPeaks& peaks) = 0;

  // A shard attempt. StartAttempt must be harmless for one already started.
  virtual AttemptObservation ObserveAttempt(const AttemptRecord& attempt) = 0;
  virtual Status StartAttempt(const policy::ShardPlan& plan) = 0;

  // What happened, as ReconcileRun records it (Events, or lines on a terminal).
  virtual void OnPlanned(std::size_t packages, const std::vector<policy::ShardPlan>& plans, int sized_from_history,
                         const std::string& message) = 0;
  virtual void OnHistoryNotUsed(const Status& why) = 0;
  virtual void OnAttemptEnded(const AttemptRecord& attempt, const AttemptFindings& evidence) = 0;
  virtual void OnDecided(const Step& step) = 0;  // after the retry policy's decision, before settling
  virtual void OnHistoryNotRecorded(const Status& why) = 0;
  virtual void OnSettled(const Settled& settled) = 0;
};

// Each package's top-level tests as one go test run goes through them, from the
// listing, for the diagnosis' projections: none where the flags choose or repeat tests
// (-run, -skip, -list, -count other than 1, also through GOFLAGS) or the listing has
// not ended or has no count.
TestCounts KnownTestCounts(const api::GoTestRunSpec& spec, RunDriver& driver);

struct RunContext {
  std::string name;
  std::int64_t generation = 1;
  const api::GoTestRunSpec& spec;
};

// One step (see above). The plans returned are to be started with StartAttempt after
// `status` is saved. An error leaves `status` with what was recorded before it (the
// ended attempts); the caller decides whether that is worth saving.
StatusOr<std::vector<policy::ShardPlan>> ReconcileRun(const RunContext& run, api::RunStatus& status, RunDriver& driver);

// Ends a run that is being stopped, once the driver's attempts have all ended or were
// never started: records how those that ran ended (an attempt stopped on request as
// Failed, "interrupted"), fails those never started, and fails the run with `reason`.
void StopRun(const RunContext& run, api::RunStatus& status, RunDriver& driver, const std::string& reason,
             const std::string& message);

}  // namespace gotestrun::engine
