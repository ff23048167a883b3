// Counts the packages an attempt has finished so far by following its events.jsonl
// (go test -json, written by go test itself while it runs): a package is finished at
// its package-level pass, fail or skip event. For the progress display only; the
// outcome of an attempt comes from its evidence when it ends.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/diagnosis/gotest/line_splitter.h"

namespace gotestrun::cli {

class FinishedPackages {
 public:
  // `packages`: the attempt's plan; other packages in the stream are not counted.
  FinishedPackages(std::string events_file, const std::vector<std::string>& packages);

  // Reads what was appended since the last call (at most a few MiB per call) and
  // returns how many planned packages have finished.
  int Poll();
  // The same for text given directly (tests, and Poll itself).
  void Feed(std::string_view bytes);
  int count() const { return static_cast<int>(finished_.size()); }

 private:
  std::string file_;
  std::set<std::string, std::less<>> planned_;
  std::set<std::string, std::less<>> finished_;
  std::uint64_t offset_ = 0;
  gotest::LineSplitter lines_;
};

}  // namespace gotestrun::cli
