#include "cli/finished_packages.h"

#include <nlohmann/json.hpp>

#include "base/files.h"

namespace gotestrun::cli {
namespace {

constexpr std::size_t kMaxLine = 64 << 10;
constexpr std::size_t kMaxPerPoll = 4 << 20;

}  // namespace

FinishedPackages::FinishedPackages(std::string events_file, const std::vector<std::string>& packages)
    : file_(std::move(events_file)), planned_(packages.begin(), packages.end()), lines_(kMaxLine) {}

void FinishedPackages::Feed(std::string_view bytes) {
  lines_.Feed(bytes, [&](std::string_view line, bool truncated) {
    if (truncated || line.find("\"Test\"") != std::string_view::npos) return;
    if (line.find("\"Action\":\"pass\"") == std::string_view::npos &&
        line.find("\"Action\":\"fail\"") == std::string_view::npos &&
        line.find("\"Action\":\"skip\"") == std::string_view::npos) {
      return;
    }
    nlohmann::json e = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!e.is_object() || !e.contains("Package") || !e["Package"].is_string()) return;
    const std::string& pkg = e["Package"].get_ref<const std::string&>();
    if (planned_.contains(pkg)) finished_.insert(pkg);
  });
}

int FinishedPackages::Poll() {
  // Opened afresh each time, never blocking: a FIFO in its place is refused.
  StatusOr<RegularFile> file = RegularFile::Open(file_);
  if (!file.ok() || !file->Seek(offset_).ok()) return count();
  std::string buf;
  if (!file->ReadUpTo(kMaxPerPoll, buf).ok()) return count();
  offset_ += buf.size();
  Feed(buf);
  return count();
}

}  // namespace gotestrun::cli
