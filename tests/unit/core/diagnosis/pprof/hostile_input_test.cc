// Whatever the bytes, the reader returns a value or an error: no crash, no exception,
// no undefined behaviour (CI runs these under ASan and UBSan), bounded memory.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include "core/diagnosis/pprof/gzip.h"
#include "core/diagnosis/pprof/heap_profile.h"
#include "tests/unit/core/diagnosis/pprof/profile_builder.h"

namespace gotestrun::pprof {
namespace {

using testing::Gunzip;
using testing::Gzip;
using testing::GzipZeros;
using testing::ReadTestdata;

// Whatever decoded must be usable: the analyses run over it without trouble.
void Exercise(const StatusOr<HeapProfile>& p) {
  if (!p.ok()) {
    EXPECT_FALSE(p.status().message().empty());
    return;
  }
  for (const ValueType& vt : p->sample_types()) {
    StatusOr<TopReport> top = TopFunctions(*p, vt.type, 10);
    EXPECT_TRUE(top.ok()) << top.status();
  }
  EXPECT_EQ(p->totals().size(), p->sample_types().size());
  if (!p->sample_types().empty()) {
    DiffOptions options;
    options.sample_type = p->sample_types()[0].type;
    EXPECT_TRUE(DiffAllocationSites(*p, *p, options).ok());
  }
}

TEST(HostileInput, EveryTruncationOfTheCompressedFileIsAnError) {
  const std::string gz = ReadTestdata("basic.pb.gz");
  for (size_t n = 0; n < gz.size(); ++n) {
    StatusOr<HeapProfile> p = ParseHeapProfile(std::string_view(gz).substr(0, n));
    ASSERT_FALSE(p.ok()) << "prefix of " << n << " bytes";
    EXPECT_NE(p.status().code(), StatusCode::kOk);
  }
  EXPECT_TRUE(ParseHeapProfile(gz).ok());
}

TEST(HostileInput, EveryTruncationOfTheProtobufDecodesOrFails) {
  // A cut between two top-level fields is a valid, smaller profile; any other cut
  // must fail. Either way nothing may crash.
  const std::string proto = Gunzip(ReadTestdata("basic.pb.gz"));
  size_t decoded = 0;
  for (size_t n = 0; n <= proto.size(); ++n) {
    StatusOr<HeapProfile> p = DecodeHeapProfile(std::string_view(proto).substr(0, n));
    decoded += p.ok() ? 1 : 0;
    if (p.ok()) Exercise(p);
  }
  // Go writes the string table last, so only cuts after it decode.
  EXPECT_GT(decoded, 0u);
  EXPECT_LT(decoded, 10u);
}

TEST(HostileInput, RandomBitFlipsInTheProtobuf) {
  const std::string proto = Gunzip(ReadTestdata("basic.pb.gz"));
  std::mt19937_64 rng(20240611);
  std::uniform_int_distribution<size_t> byte(0, proto.size() - 1);
  std::uniform_int_distribution<int> bit(0, 7), flips(1, 8);
  int decoded = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string mutated = proto;
    for (int i = flips(rng); i > 0; --i) mutated[byte(rng)] ^= static_cast<char>(1 << bit(rng));
    StatusOr<HeapProfile> p = DecodeHeapProfile(mutated);
    decoded += p.ok() ? 1 : 0;
    Exercise(p);
  }
  // Most flips land in values, ids or names and leave a well-formed profile; the
  // test is that none of the others misbehaves.
  EXPECT_GT(decoded, 0);
  EXPECT_LT(decoded, 3000);
}

TEST(HostileInput, RandomBitFlipsInTheGzipStream) {
  const std::string gz = ReadTestdata("grow_before.pb.gz");
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<size_t> byte(0, gz.size() - 1);
  std::uniform_int_distribution<int> bit(0, 7);
  for (int round = 0; round < 1000; ++round) {
    std::string mutated = gz;
    mutated[byte(rng)] ^= static_cast<char>(1 << bit(rng));
    Exercise(ParseHeapProfile(mutated));  // The CRC catches nearly all of them.
  }
}

TEST(HostileInput, RandomBytes) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 500; ++round) {
    std::string junk(static_cast<size_t>(rng() % 512), '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    Exercise(DecodeHeapProfile(junk));
    Exercise(ParseHeapProfile(junk));
    Exercise(ParseHeapProfile(Gzip(junk)));
  }
}

TEST(HostileInput, NotGzip) {
  const std::string proto = Gunzip(ReadTestdata("basic.pb.gz"));
  for (const std::string& bytes : {std::string(), std::string("\x1f"), std::string("hello, world"), proto}) {
    StatusOr<HeapProfile> p = ParseHeapProfile(bytes);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << p.status();
  }
  StatusOr<HeapProfile> header_only = ParseHeapProfile(std::string("\x1f\x8b\x08\x00", 4));
  ASSERT_FALSE(header_only.ok());
  EXPECT_EQ(header_only.status().code(), StatusCode::kDataLoss) << header_only.status();
}

TEST(HostileInput, GzipOfGarbage) {
  std::mt19937_64 rng(1);
  std::string garbage(4096, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  StatusOr<HeapProfile> p = ParseHeapProfile(Gzip(garbage));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << p.status();
  StatusOr<HeapProfile> text = ParseHeapProfile(Gzip("heap profile: 1: 2 [3: 4] @ heap/1048576\n"));
  ASSERT_FALSE(text.ok());  // The legacy text format is not read.
}

TEST(HostileInput, CorruptAndTrailingGzip) {
  std::string gz = ReadTestdata("basic.pb.gz");
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 1;
  StatusOr<HeapProfile> p = ParseHeapProfile(bad_crc);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kDataLoss) << p.status();

  p = ParseHeapProfile(gz + "trailing");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << p.status();
}

TEST(HostileInput, GzipBombStopsAtTheCap) {
  Limits limits;
  limits.max_decompressed_bytes = 1 << 20;
  StatusOr<HeapProfile> p = ParseHeapProfile(GzipZeros(64 << 20), limits);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kResourceExhausted) << p.status();

  // Its trailer may lie about the size too: the cap holds either way.
  std::string lying = GzipZeros(8 << 20);
  for (size_t i = lying.size() - 4; i < lying.size(); ++i) lying[i] = 0;
  p = ParseHeapProfile(lying, limits);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kResourceExhausted) << p.status();
}

TEST(HostileInput, GzipBombBeyondTheDefaultCap) {
  // 300 MiB of zeros in about 300 KB: more than the default 256 MiB.
  StatusOr<HeapProfile> p = ParseHeapProfile(GzipZeros(300 << 20));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kResourceExhausted) << p.status();
}

TEST(HostileInput, InflateAtExactlyTheCap) {
  std::string zeros = GzipZeros(1 << 20);
  auto bytes = [](const std::string& s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  StatusOr<InflatedBytes> exact = InflateGzip(bytes(zeros), 1 << 20);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->size(), size_t{1} << 20);
  StatusOr<InflatedBytes> under = InflateGzip(bytes(zeros), (1 << 20) - 1);
  ASSERT_FALSE(under.ok());
  EXPECT_EQ(under.status().code(), StatusCode::kResourceExhausted);
  StatusOr<InflatedBytes> empty = InflateGzip(bytes(Gzip("")), 0);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->size(), 0u);
}

// How much the peak RSS grows, in MiB, while `fn` runs in a child process (so that
// what earlier tests touched does not hide it). 255 when the child fails.
template <typename Fn>
long PeakGrowthMiB(Fn fn) {
  pid_t pid = fork();
  if (pid == 0) {
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    bool ok = fn();
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    _exit(ok ? static_cast<int>(std::min<long>((after.ru_maxrss - before.ru_maxrss) >> 10, 254)) : 255);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

// A buffer grown by doubling holds its old and new storage at once while it copies:
// with a trailer saying 0 bytes (a last, empty member), 150 MiB under a 192 MiB cap
// peaked near 280 MiB. Inflation now allocates the output once, at its exact size.
TEST(HostileInput, InflateAllocatesNoMoreThanTheOutput) {
  const std::string input = GzipZeros(150 << 20) + Gzip("");
  long growth = PeakGrowthMiB([&] {
    StatusOr<InflatedBytes> out = InflateGzip(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(input.data()), input.size()), size_t{192} << 20);
    return out.ok() && out->size() == size_t{150} << 20;
  });
  EXPECT_LT(growth, 150 + 32);  // headroom for ASan's shadow memory

  // Over the cap: refused after counting, having allocated nothing of the size.
  const std::string bomb = GzipZeros(size_t{512} << 20) + Gzip("");
  growth = PeakGrowthMiB([&] {
    StatusOr<InflatedBytes> out = InflateGzip(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bomb.data()), bomb.size()), size_t{256} << 20);
    return !out.ok() && out.status().code() == StatusCode::kResourceExhausted;
  });
  EXPECT_LT(growth, 32);
}

}  // namespace
}  // namespace gotestrun::pprof
