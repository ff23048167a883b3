#include "core/diagnosis/gotest/line_splitter.h"

#include <algorithm>

namespace gotestrun::gotest {
namespace {

std::string_view WithoutCarriageReturn(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

LineSplitter::LineSplitter(std::size_t max_line_bytes) : max_line_bytes_(std::max<std::size_t>(max_line_bytes, 1)) {}

void LineSplitter::Feed(std::string_view bytes, const LineSink& sink) {
  while (!bytes.empty()) {
    const std::size_t newline = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, newline);
    if (newline == std::string_view::npos) {
      Append(piece);
      return;
    }
    if (partial_.empty() && !partial_truncated_) {
      // The common case: a whole line inside one chunk, delivered without a copy.
      const std::string_view line = WithoutCarriageReturn(piece);
      if (line.size() > max_line_bytes_) {
        sink(line.substr(0, max_line_bytes_), true);
      } else {
        sink(line, false);
      }
    } else {
      Append(piece);
      DeliverPartial(sink);
    }
    bytes.remove_prefix(newline + 1);
  }
}

void LineSplitter::Finish(const LineSink& sink) {
  if (!partial_.empty() || partial_truncated_) DeliverPartial(sink);
}

void LineSplitter::Append(std::string_view piece) {
  const std::size_t room = max_line_bytes_ - std::min(max_line_bytes_, partial_.size());
  if (piece.size() > room) {
    partial_truncated_ = true;
    piece = piece.substr(0, room);
  }
  partial_.append(piece);
}

void LineSplitter::DeliverPartial(const LineSink& sink) {
  // A "\r" cut off with the rest of a long line was never appended; one that fits is.
  std::string_view line = partial_;
  if (!partial_truncated_) line = WithoutCarriageReturn(line);
  sink(line, partial_truncated_);
  partial_.clear();
  partial_truncated_ = false;
}

}  // namespace gotestrun::gotest
