// main() of every test binary: GoogleTest's, plus the failures said once more, in
// brief, after the last test. A failing e2e binary prints minutes of node and
// operator logs around its assertion; whoever reads only the first and last lines of
// that (a CI page, a truncated log) still sees which expectation failed and with what.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

// Long enough for the values of an EXPECT_EQ, short enough that ten of them fit a screen.
constexpr std::size_t kBriefChars = 600;

class BriefFailures : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo& test) override {
    current_ = std::string(test.test_suite_name()) + "." + test.name();
  }

  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::string text = current_ + " at " + (result.file_name() ? result.file_name() : "?") + ":" +
                       std::to_string(result.line_number()) + ": " + result.message();
    if (text.size() > kBriefChars) text = text.substr(0, kBriefChars) + " [...]";
    failures_.push_back(std::move(text));
  }

  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    if (failures_.empty()) return;
    std::printf("\nfailures, in brief (%zu):\n", failures_.size());
    for (const std::string& f : failures_) std::printf("- %s\n", f.c_str());
    std::fflush(stdout);
  }

 private:
  std::string current_ = "(global set-up)";
  std::vector<std::string> failures_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new BriefFailures);  // owned by GoogleTest
  return RUN_ALL_TESTS();
}
