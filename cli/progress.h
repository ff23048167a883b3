// What `gotestrun run` shows on stderr while it runs.
//
// Three styles:
//  - kTerminal (stderr is a terminal): event lines scroll as in kLines, and below them
//    a compact block, redrawn in place with ANSI escapes at most every 250 ms, shows
//    each running shard attempt: its limit, its memory now against the limit, the
//    packages done out of its total, and how long it has run.
//  - kLines (a log, a pipe): only lines when something changes: planning, an attempt
//    starting (a retry with the policy's reason), ending (how, the killed package).
//  - kJson (--json-progress): the same events, one JSON object per line, for tools.
// Safe to call from several threads (the shard attempts report their memory from the
// threads that run them).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "core/engine/run_progress.h"
#include "core/policy/plan.h"

namespace gotestrun::cli {

enum class ProgressStyle { kTerminal, kLines, kJson };

// One running shard attempt as the block shows it.
struct LiveAttempt {
  policy::ShardPlan plan;
  std::uint64_t usage_bytes = 0;  // now
  std::uint64_t peak_bytes = 0;   // so far
  int packages_done = 0;
  std::chrono::milliseconds elapsed{0};
};

// "s0/a1": an attempt's folder in the run folder.
std::string AttemptLabel(int shard, int attempt);
// "s1/a1  retry: 1 package under 368Mi, -parallel 1: <reason>".
std::string AttemptStartedLine(const policy::ShardPlan& plan, const std::string& reason);
// "s0/a1  OOMKilled: OOM kill of ... (test-run, TestLedger); peak 255.9Mi".
std::string AttemptEndedLine(const engine::AttemptRecord& record);
// The block: one line per attempt, each cut to `width` columns (0: no cut).
std::vector<std::string> RenderLiveBlock(const std::vector<LiveAttempt>& attempts, int width);

class Progress {
 public:
  Progress(ProgressStyle style, std::FILE* out, const Clock& clock = SystemClock::Get());
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  ProgressStyle style() const { return style_; }

  // A one-off word: where the run folder is, what differs from a cluster, the RSS watch.
  void Note(const std::string& text);
  void Planned(std::size_t packages, const std::vector<policy::ShardPlan>& shards);
  // `reason` is the policy's for a retry or a split, empty for the first plan's shards.
  void AttemptStarted(const policy::ShardPlan& plan, const std::string& reason);
  void Sample(int shard, int attempt, std::uint64_t usage_bytes, int packages_done);
  void AttemptEnded(const engine::AttemptRecord& record);
  // The run is over: the block goes, what follows is plain text.
  void Finish();

 private:
  void Line(const std::string& text, bool one_line = false);  // mu_ held
  void EraseBlock();                                          // mu_ held
  void DrawBlock();                                           // mu_ held
  void EmitJson(const std::string& object);                   // mu_ held

  const ProgressStyle style_;
  std::FILE* const out_;
  const Clock& clock_;
  std::mutex mu_;
  struct Running {
    LiveAttempt live;
    Clock::time_point started;
  };
  std::map<std::pair<int, int>, Running> running_;
  int drawn_lines_ = 0;
  Clock::time_point last_draw_{};
  bool finished_ = false;
};

}  // namespace gotestrun::cli
