#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/terminal_text.h"
#include "core/evidence/evidence.h"
#include "core/policy/quantity.h"

namespace gotestrun::cli {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr milliseconds kRedrawEvery{250};
constexpr int kBarWidth = 20;

std::string Plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string Knobs(const policy::ShardPlan& plan) {
  std::string k;
  if (plan.parallel) k += ", -parallel " + std::to_string(*plan.parallel);
  if (plan.p) k += ", -p " + std::to_string(*plan.p);
  if (plan.gomemlimit) k += ", GOMEMLIMIT=" + policy::FormatGoMemLimit(*plan.gomemlimit);
  return k;
}

std::string Seconds(milliseconds d) {
  long long s = d.count() / 1000;
  return s < 60 ? std::to_string(s) + "s"
                : std::to_string(s / 60) + "m" + (s % 60 < 10 ? "0" : "") + std::to_string(s % 60) + "s";
}

// Cut to `width` display columns; the text is ASCII but for the bar's characters,
// each of which is one column in three bytes.
std::string Cut(const std::string& s, int width) {
  if (width <= 0) return s;
  std::string out;
  int cols = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
    if (cols + 1 > width) break;
    out.append(s, i, len);
    i += len;
    ++cols;
  }
  return out;
}

int TerminalWidth(std::FILE* out) {
  struct winsize ws {};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 100;
}

}  // namespace

std::string AttemptLabel(int shard, int attempt) { return evidence::AttemptName(shard, attempt); }

std::string AttemptStartedLine(const policy::ShardPlan& plan, const std::string& reason) {
  std::string line = AttemptLabel(plan.index, plan.attempt) + "  " + (reason.empty() ? "started" : "retry") + ": " +
                     Plural(plan.packages.size(), "package", "packages") + " under " +
                     policy::FormatMemoryQuantity(plan.memory) + Knobs(plan);
  if (plan.packages.size() == 1) line += " (" + plan.packages.front() + ")";
  if (!reason.empty()) line += ": " + reason;
  return line;
}

std::string AttemptEndedLine(const engine::AttemptRecord& record) {
  std::string line = AttemptLabel(record.plan.index, record.plan.attempt) + "  " + record.outcome;
  if (!record.message.empty()) line += ": " + record.message;
  return line;
}

std::vector<std::string> RenderLiveBlock(const std::vector<LiveAttempt>& attempts, int width) {
  std::vector<std::string> lines;
  for (const LiveAttempt& a : attempts) {
    const std::uint64_t limit = a.plan.memory;
    int filled =
        limit == 0 ? 0 : static_cast<int>(std::min<std::uint64_t>(kBarWidth, a.usage_bytes * kBarWidth / limit));
    std::string bar;
    for (int i = 0; i < kBarWidth; ++i) bar += i < filled ? "\u2588" : "\u2591";
    std::string line = "  " + AttemptLabel(a.plan.index, a.plan.attempt) + "  " + bar + " " +
                       policy::FormatMemoryApprox(a.usage_bytes) + " / " + policy::FormatMemoryQuantity(limit) +
                       "  peak " + policy::FormatMemoryApprox(a.peak_bytes) + "  " + std::to_string(a.packages_done) +
                       "/" + std::to_string(a.plan.packages.size()) + " packages  " + Seconds(a.elapsed);
    lines.push_back(Cut(line, width));
  }
  return lines;
}

Progress::Progress(ProgressStyle style, std::FILE* out, const Clock& clock) : style_(style), out_(out), clock_(clock) {}

void Progress::EmitJson(const std::string& object) {
  std::fputs(object.c_str(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void Progress::EraseBlock() {
  if (drawn_lines_ > 0) std::fprintf(out_, "\x1b[%dA\r\x1b[J", drawn_lines_);
  drawn_lines_ = 0;
}

void Progress::DrawBlock() {
  if (style_ != ProgressStyle::kTerminal || finished_) return;
  std::vector<LiveAttempt> live;
  const Clock::time_point now = clock_.Now();
  for (auto& [key, r] : running_) {
    r.live.elapsed = std::chrono::duration_cast<milliseconds>(now - r.started);
    live.push_back(r.live);
  }
  EraseBlock();
  for (const std::string& line : RenderLiveBlock(live, TerminalWidth(out_) - 1)) {
    std::fputs(line.c_str(), out_);
    std::fputc('\n', out_);
    ++drawn_lines_;
  }
  std::fflush(out_);
  last_draw_ = now;
}

void Progress::Line(const std::string& text, bool one_line) {
  if (style_ == ProgressStyle::kTerminal) EraseBlock();
  // Package names, test names and messages come from the tests: nothing in them may act
  // on the terminal, and an attempt's line stays one line.
  std::fputs(TerminalText(text, !one_line).c_str(), out_);
  std::fputc('\n', out_);
  if (style_ == ProgressStyle::kTerminal) {
    DrawBlock();
  } else {
    std::fflush(out_);
  }
}

void Progress::Note(const std::string& text) {
  std::lock_guard<std::mutex> lock(mu_);
  if (style_ == ProgressStyle::kJson) return EmitJson(json{{"event", "note"}, {"text", text}}.dump());
  Line(text);
}

void Progress::Planned(std::size_t packages, const std::vector<policy::ShardPlan>& shards) {
  std::lock_guard<std::mutex> lock(mu_);
  if (style_ == ProgressStyle::kJson) {
    return EmitJson(json{{"event", "planned"}, {"packages", packages}, {"shards", shards.size()}}.dump());
  }
  std::string limits;
  for (const policy::ShardPlan& s : shards) {
    std::string m = policy::FormatMemoryQuantity(s.memory);
    if (limits.find(m) == std::string::npos) limits += (limits.empty() ? "" : ", ") + m;
  }
  Line("planned " + Plural(packages, "package", "packages") + " in " + Plural(shards.size(), "shard", "shards") + " (" +
       limits + ")");
}

void Progress::AttemptStarted(const policy::ShardPlan& plan, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  running_[{plan.index, plan.attempt}] = Running{LiveAttempt{.plan = plan}, clock_.Now()};
  if (style_ == ProgressStyle::kJson) {
    json e = {{"event", "attemptStarted"},
              {"attempt", AttemptLabel(plan.index, plan.attempt)},
              {"memory", policy::FormatMemoryQuantity(plan.memory)},
              {"packages", plan.packages}};
    if (plan.parallel) e["parallel"] = *plan.parallel;
    if (plan.p) e["p"] = *plan.p;
    if (plan.gomemlimit) e["gomemlimit"] = policy::FormatGoMemLimit(*plan.gomemlimit);
    if (!reason.empty()) e["reason"] = reason;
    return EmitJson(e.dump());
  }
  Line(AttemptStartedLine(plan, reason), true);
}

void Progress::Sample(int shard, int attempt, std::uint64_t usage_bytes, int packages_done) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = running_.find({shard, attempt});
  if (it == running_.end()) return;
  LiveAttempt& live = it->second.live;
  live.usage_bytes = usage_bytes;
  live.peak_bytes = std::max(live.peak_bytes, usage_bytes);
  const bool more_done = packages_done > live.packages_done;
  live.packages_done = std::max(live.packages_done, packages_done);
  if (style_ == ProgressStyle::kJson && more_done) {
    EmitJson(json{{"event", "packagesDone"},
                  {"attempt", AttemptLabel(shard, attempt)},
                  {"done", live.packages_done},
                  {"total", live.plan.packages.size()}}
                 .dump());
  }
  if (style_ == ProgressStyle::kTerminal && clock_.Now() - last_draw_ >= kRedrawEvery) DrawBlock();
}

void Progress::AttemptEnded(const engine::AttemptRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  running_.erase({record.plan.index, record.plan.attempt});
  if (style_ == ProgressStyle::kJson) {
    json e = {{"event", "attemptEnded"},
              {"attempt", AttemptLabel(record.plan.index, record.plan.attempt)},
              {"outcome", record.outcome},
              {"message", record.message}};
    if (record.peak_bytes) e["peakBytes"] = *record.peak_bytes;
    if (!record.killed_package.empty()) e["killedPackage"] = record.killed_package;
    if (!record.phase.empty()) e["phase"] = record.phase;
    return EmitJson(e.dump());
  }
  Line(AttemptEndedLine(record), true);
}

void Progress::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (style_ == ProgressStyle::kTerminal) EraseBlock();
  finished_ = true;
  std::fflush(out_);
}

}  // namespace gotestrun::cli
