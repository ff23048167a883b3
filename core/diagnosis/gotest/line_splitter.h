// Splits a byte stream into lines however the bytes arrive: a chunk may end in the
// middle of a line (a file still being appended to, a pipe read) and the rest of the
// line comes with the next chunk. Lines longer than the cap are cut, so that one
// runaway line cannot grow memory without bound.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace gotestrun::gotest {

class LineSplitter {
 public:
  // Receives one line without its "\n" (or "\r\n"). `truncated` says the line was
  // longer than the cap and only its first max_line_bytes are given. The view is valid
  // only during the call.
  using LineSink = std::function<void(std::string_view line, bool truncated)>;

  // A cap below 1 is taken as 1.
  explicit LineSplitter(std::size_t max_line_bytes);

  void Feed(std::string_view bytes, const LineSink& sink);
  // End of input: a last line without "\n" is delivered too. The splitter is then
  // empty and can be fed again.
  void Finish(const LineSink& sink);

  // Bytes of an incomplete line held until its "\n" arrives (at most the cap).
  std::size_t pending_bytes() const { return partial_.size(); }

 private:
  void Append(std::string_view piece);
  void DeliverPartial(const LineSink& sink);

  std::size_t max_line_bytes_;
  std::string partial_;
  bool partial_truncated_ = false;
};

}  // namespace gotestrun::gotest
