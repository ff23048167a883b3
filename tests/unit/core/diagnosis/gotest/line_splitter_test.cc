#include "core/diagnosis/gotest/line_splitter.h"

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun::gotest {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

using Lines = std::vector<std::pair<std::string, bool>>;

// Feeds `chunks` one after the other, then finishes.
Lines Split(const std::vector<std::string>& chunks, std::size_t cap = 1024) {
  Lines lines;
  LineSplitter splitter(cap);
  const auto sink = [&lines](std::string_view line, bool truncated) { lines.emplace_back(line, truncated); };
  for (const std::string& chunk : chunks) splitter.Feed(chunk, sink);
  splitter.Finish(sink);
  return lines;
}

TEST(LineSplitterTest, WholeLinesInOneChunk) {
  EXPECT_THAT(Split({"a\nbb\n\nccc\n"}),
              ElementsAre(Pair("a", false), Pair("bb", false), Pair("", false), Pair("ccc", false)));
}

TEST(LineSplitterTest, EmptyInputGivesNoLines) {
  EXPECT_THAT(Split({}), IsEmpty());
  EXPECT_THAT(Split({"", ""}), IsEmpty());
}

TEST(LineSplitterTest, DropsCarriageReturnBeforeNewline) {
  EXPECT_THAT(Split({"one\r\ntwo\r", "\n"}), ElementsAre(Pair("one", false), Pair("two", false)));
}

TEST(LineSplitterTest, LineCutAcrossChunksIsJoined) {
  EXPECT_THAT(Split({"hel", "lo wo", "rld\nnext", "\n"}), ElementsAre(Pair("hello world", false), Pair("next", false)));
}

TEST(LineSplitterTest, LastLineWithoutNewlineComesWithFinish) {
  Lines lines;
  LineSplitter splitter(1024);
  const auto sink = [&lines](std::string_view line, bool truncated) { lines.emplace_back(line, truncated); };
  splitter.Feed("done\npart", sink);
  EXPECT_THAT(lines, ElementsAre(Pair("done", false)));
  EXPECT_EQ(splitter.pending_bytes(), 4u);
  splitter.Finish(sink);
  EXPECT_THAT(lines, ElementsAre(Pair("done", false), Pair("part", false)));
  EXPECT_EQ(splitter.pending_bytes(), 0u);
}

TEST(LineSplitterTest, ByteByByteEqualsWhole) {
  const std::string text = "first line\r\nsecond\n\nthird without end";
  std::vector<std::string> bytes;
  for (const char c : text) bytes.emplace_back(1, c);
  EXPECT_EQ(Split(bytes), Split({text}));
}

TEST(LineSplitterTest, LongLineInOneChunkIsCut) {
  EXPECT_THAT(Split({"0123456789\nok\n"}, 4), ElementsAre(Pair("0123", true), Pair("ok", false)));
}

TEST(LineSplitterTest, LongLineAcrossChunksIsCutAndTheRestSkipped) {
  EXPECT_THAT(Split({"01", "2345", "6789", "\nok\n"}, 4), ElementsAre(Pair("0123", true), Pair("ok", false)));
  // Memory stays at the cap however long the line grows.
  LineSplitter splitter(4);
  const auto ignore = [](std::string_view, bool) {};
  for (int i = 0; i < 1000; ++i) splitter.Feed("xxxxxxxx", ignore);
  EXPECT_EQ(splitter.pending_bytes(), 4u);
}

TEST(LineSplitterTest, LongUnfinishedLineIsCutAtFinish) {
  EXPECT_THAT(Split({"0123456789"}, 4), ElementsAre(Pair("0123", true)));
}

TEST(LineSplitterTest, CapBelowOneIsOne) { EXPECT_THAT(Split({"ab\n"}, 0), ElementsAre(Pair("a", true))); }

}  // namespace
}  // namespace gotestrun::gotest
