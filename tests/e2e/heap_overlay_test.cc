// The injected heap snapshot file, compiled and run by the real go command: a test
// binary leaves its first profile at its first GC, long before the first interval, so
// that a binary killed early still shows its heap and goroutine counts.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "agent/heap_overlay.h"
#include "base/files.h"
#include "sandbox/child_process.h"

namespace gotestrun::agent {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(HeapOverlayRunTest, TheFirstSnapshotComesAtTheFirstGcNotAfterAnInterval) {
  std::string pattern = (fs::temp_directory_path() / "gtr-overlay-run-XXXXXX").string();
  const fs::path root = ::mkdtemp(pattern.data());
  Write(root / "go.mod", "module example.com/overlay\n\ngo 1.22\n");
  // 40 MiB kept live passes the runtime's first 4 MiB goal many times over; the test
  // then ends well inside the (one minute) interval.
  Write(root / "grow" / "grow_test.go",
        "package grow\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\nvar keep [][]byte\n\n"
        "func TestGrow(t *testing.T) {\n\tfor i := 0; i < 40; i++ {\n\t\tkeep = append(keep, make([]byte, 1<<20))\n"
        "\t}\n\ttime.Sleep(300 * time.Millisecond)\n}\n");
  evidence::PackageListing grow{.import_path = "example.com/overlay/grow",
                                .name = "grow",
                                .dir = (root / "grow").string(),
                                .test_go_files = {"grow_test.go"}};
  StatusOr<HeapOverlay> overlay = WriteHeapOverlay({grow}, (root / "overlay").string());
  ASSERT_TRUE(overlay.ok()) << overlay.status();
  const fs::path heap = root / "heap";
  fs::create_directories(heap);
  const std::string log = (root / "go.log").string();
  StatusOr<sandbox::Subprocess> go = sandbox::Subprocess::Spawn(
      {.argv = {"go", "test", "-count=1", "-vet=off", "-overlay=" + overlay->overlay_json_path, "./grow"},
       .extra_env = {"GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", std::string(kHeapDirEnv) + "=" + heap.string(),
                     std::string(kHeapIntervalEnv) + "=60s"},
       .working_dir = root.string(),
       .output_file = log});
  ASSERT_TRUE(go.ok()) << go.status();
  std::optional<sandbox::ExitInfo> end = go->Wait(std::chrono::minutes(5));
  ASSERT_TRUE(end.has_value());
  StatusOr<std::string> output = ReadFile(log, 1 << 20);
  ASSERT_EQ(end->exit_code, 0) << (output.ok() ? *output : "");
  EXPECT_TRUE(fs::exists(heap / "0001.pb.gz"));
  StatusOr<std::string> tsv = ReadFile((heap / "snapshots.tsv").string(), 1 << 20);
  ASSERT_TRUE(tsv.ok()) << tsv.status();
  EXPECT_FALSE(tsv->empty());
  std::error_code ec;
  fs::remove_all(root, ec);
}

}  // namespace
}  // namespace gotestrun::agent
