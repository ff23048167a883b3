#include "base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gotestrun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "files-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    folder_ = root_ + "/evidence";
    outside_ = root_ + "/outside";
    fs::create_directories(folder_);
    fs::create_directories(outside_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static void Write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

  std::string root_, folder_, outside_;
};

// Each refusal must come at once: a reader that blocked would hang the test instead.
template <typename F>
Status Quickly(F&& read) {
  const auto start = std::chrono::steady_clock::now();
  Status s = read();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  return s;
}

TEST_F(FilesTest, ReadsARegularFileInsideTheFolder) {
  Write(folder_ + "/result.json", "{}");
  EXPECT_EQ(ReadFileWithin(folder_, folder_ + "/result.json", 100).value(), "{}");
  EXPECT_EQ(ReadFileWithin(folder_, "result.json", 100).value(), "{}");
  EXPECT_EQ(ReadFile(folder_ + "/result.json", 2).value(), "{}");
}

TEST_F(FilesTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadFile(folder_ + "/none").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadFileWithin(folder_, "none", 10).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadFileWithin(folder_, "no/such/folder", 10).status().code(), StatusCode::kNotFound);
}

TEST_F(FilesTest, RefusesAFifoWithoutBlocking) {
  const std::string fifo = folder_ + "/events.jsonl";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  Status within = Quickly([&] { return ReadFileWithin(folder_, fifo, 1 << 20).status(); });
  EXPECT_EQ(within.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(within.message(), HasSubstr("is a FIFO, not a regular file"));
  Status plain = Quickly([&] { return ReadFile(fifo).status(); });
  EXPECT_THAT(plain.message(), HasSubstr("is a FIFO"));
  Status head = Quickly([&] { return ReadFileHeadWithin(folder_, fifo, 10).status(); });
  EXPECT_THAT(head.message(), HasSubstr("is a FIFO"));
}

TEST_F(FilesTest, RefusesADevice) {
  Status s = Quickly([] { return ReadFile("/dev/zero", 1 << 20).status(); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("/dev/zero is a character device, not a regular file"));
  // Planted under an evidence name, a link to it is refused as a link.
  fs::create_symlink("/dev/zero", folder_ + "/memory.tsv");
  Status within = Quickly([&] { return ReadFileWithin(folder_, "memory.tsv", 1 << 20).status(); });
  EXPECT_THAT(within.message(), HasSubstr("memory.tsv is a symbolic link"));
}

TEST_F(FilesTest, RefusesAFolder) { EXPECT_THAT(ReadFile(folder_).status().message(), HasSubstr("is a folder")); }

TEST_F(FilesTest, RefusesALinkOutOfTheFolder) {
  Write(outside_ + "/secret", "token");
  fs::create_symlink(outside_ + "/secret", folder_ + "/result.json");
  Status link = Quickly([&] { return ReadFileWithin(folder_, "result.json", 100).status(); });
  EXPECT_EQ(link.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(link.message(), HasSubstr("is a symbolic link"));

  // A linked folder on the way leads out too; the file at its end is a regular one.
  fs::create_directory_symlink(outside_, folder_ + "/heap");
  Status parent = Quickly([&] { return ReadFileWithin(folder_, "heap/secret", 100).status(); });
  EXPECT_EQ(parent.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(parent.message(), HasSubstr("outside " + folder_));

  EXPECT_THAT(ReadFileWithin(folder_, "../outside/secret", 100).status().message(), HasSubstr("outside"));
  // The general reader follows links: configuration files are often links.
  EXPECT_EQ(ReadFile(folder_ + "/result.json", 100).value(), "token");
}

TEST_F(FilesTest, AFolderReachedThroughALinkIsItsOwnInside) {
  fs::create_directory_symlink(folder_, root_ + "/linked");
  Write(folder_ + "/result.json", "{}");
  EXPECT_EQ(ReadFileWithin(root_ + "/linked", "result.json", 10).value(), "{}");
}

TEST_F(FilesTest, RefusesAnOversizeFile) {
  Write(folder_ + "/memory.tsv", std::string(101, 'x'));
  Status within = Quickly([&] { return ReadFileWithin(folder_, "memory.tsv", 100).status(); });
  EXPECT_EQ(within.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(within.message(), HasSubstr("memory.tsv is larger than 100 bytes"));
  EXPECT_EQ(ReadFile(folder_ + "/memory.tsv", 100).status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(ReadFile(folder_ + "/memory.tsv", 101).ok());
}

TEST_F(FilesTest, HeadOfAnOversizeFile) {
  Write(folder_ + "/events.jsonl", "abcdef");
  StatusOr<FileHead> head = ReadFileHeadWithin(folder_, "events.jsonl", 4);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->text, "abcd");
  EXPECT_TRUE(head->truncated);
  head = ReadFileHeadWithin(folder_, "events.jsonl", 6);
  EXPECT_EQ(head->text, "abcdef");
  EXPECT_FALSE(head->truncated);
}

TEST_F(FilesTest, ReadsKernelFilesThatDoNotKnowTheirSize) {
  StatusOr<std::string> stat = ReadFile("/proc/self/stat", 4096);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_FALSE(stat->empty());
}

TEST_F(FilesTest, TailOfAFile) {
  Write(folder_ + "/events.jsonl", "0123456789");
  StatusOr<RegularFile> file = RegularFile::OpenWithin(folder_, "events.jsonl");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->size(), 10u);
  ASSERT_TRUE(file->Seek(6).ok());
  std::string tail;
  ASSERT_TRUE(file->ReadUpTo(100, tail).ok());
  EXPECT_EQ(tail, "6789");
}

}  // namespace
}  // namespace gotestrun
