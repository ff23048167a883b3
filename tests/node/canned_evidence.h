// Canned evidence: what the agent left in a real run, replayed by the test node's fast
// mode so that thousands of Pods can end without running Go.
//
// The source is a local run folder (`gotestrun run --out DIR`), which has the layout of
// a run folder on the profiles volume (core/evidence/evidence.h): plan/packages.json
// from the planning `gotestrun-agent list`, and one folder per shard attempt. An attempt
// folder with result.json passed or failed; one without it is the evidence of a kill
// (the agent died with the container), exactly as the operator reads it. Attempts are
// keyed by the packages they tested (their packages.json), so a Pod testing the same
// packages gets the evidence of the same attempt, with its real events, GC traces and
// heap profiles for the operator to parse and diagnose.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace gotestrun::testing {

// What a replayed Pod leaves: where its evidence comes from and how its container ends.
struct CannedAttempt {
  std::string evidence_dir;  // an attempt folder of the captured run
  bool oom_killed = false;
};

class CannedEvidence {
 public:
  // Indexes the run folder; FailedPrecondition when it has no plan or no attempts.
  // An attempt killed at limit L is replayed as killed for first attempts at limits up
  // to L; other attempts of those packages pass with the evidence of the attempt that
  // passed.
  static StatusOr<CannedEvidence> Load(const std::string& run_dir);

  // What the planning Pod writes to its --out file.
  const std::string& plan_packages() const { return plan_packages_; }

  // For a first attempt (attempt == 1) at `limit_bytes` of exactly `packages`; nullopt
  // when the captured run tested no such shard.
  std::optional<CannedAttempt> For(const std::vector<std::string>& packages, int attempt,
                                   std::uint64_t limit_bytes) const;

  std::size_t killed_shards() const { return killed_.size(); }
  std::size_t shards() const { return passed_.size(); }

 private:
  struct Killed {
    std::string dir;
    std::uint64_t limit_bytes = 0;
  };
  std::string plan_packages_;
  std::map<std::string, std::string> passed_;  // by packages key
  std::map<std::string, Killed> killed_;       // by packages key
};

// Copies an attempt folder's files into `dest` (created if missing), as the agent would
// have written them there.
Status CopyEvidence(const std::string& from, const std::string& dest);

}  // namespace gotestrun::testing
