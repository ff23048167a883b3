#include "core/diagnosis/pprof/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

namespace gotestrun::pprof {
namespace {

// Deflate cannot do better than about 1032:1, so a trailer claiming more is a lie and
// must not decide how much memory to reserve.
constexpr size_t kMaxDeflateRatio = 1032;
// zlib counts in 32-bit uInt; feed it at most this much at a time.
constexpr size_t kMaxChunk = size_t{1} << 30;

bool HasGzipMagic(std::span<const uint8_t> in) { return in.size() >= 2 && in[0] == 0x1f && in[1] == 0x8b; }

// Frees zlib's state on every path out.
class Inflater {
 public:
  Inflater() { std::memset(&zs_, 0, sizeof zs_); }
  ~Inflater() {
    if (initialized_) inflateEnd(&zs_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  Status Init() {
    // 16 + MAX_WBITS: gzip framing only, with its CRC-32 and length checked.
    int rc = inflateInit2(&zs_, 16 + MAX_WBITS);
    if (rc != Z_OK) return ResourceExhaustedError("cannot initialize zlib: " + std::to_string(rc));
    initialized_ = true;
    return Status::Ok();
  }
  z_stream& stream() { return zs_; }

 private:
  z_stream zs_;
  bool initialized_ = false;
};

// A first guess of the output size from the last member's ISIZE trailer (the size
// modulo 2^32), clamped to what the input could honestly produce and to the cap.
size_t InitialCapacity(std::span<const uint8_t> in, size_t cap) {
  size_t plausible = in.size() > SIZE_MAX / kMaxDeflateRatio ? SIZE_MAX : in.size() * kMaxDeflateRatio;
  size_t guess = in.size() * 4;
  if (in.size() >= 18) {
    const uint8_t* t = in.data() + in.size() - 4;
    size_t isize = static_cast<size_t>(t[0]) | static_cast<size_t>(t[1]) << 8 | static_cast<size_t>(t[2]) << 16 |
                   static_cast<size_t>(t[3]) << 24;
    if (isize <= plausible) guess = isize;
  }
  // One byte more than the output, so the stream ends before the buffer fills and a
  // full buffer always means there may be more to come.
  guess = std::min(guess, plausible);
  return std::max<size_t>(std::min(guess, cap) + 1, 4096);
}

}  // namespace

StatusOr<InflatedBytes> InflateGzip(std::span<const uint8_t> in, size_t max_output_bytes) {
  if (!HasGzipMagic(in)) return InvalidArgumentError("not gzip: the input does not start with 1f 8b");
  try {
    Inflater inflater;
    GTR_RETURN_IF_ERROR(inflater.Init());
    z_stream& zs = inflater.stream();

    // The buffer may hold max_output_bytes + 1: producing that last byte proves the
    // output is over the cap.
    const size_t limit = max_output_bytes == SIZE_MAX ? SIZE_MAX : max_output_bytes + 1;
    size_t capacity = std::min(InitialCapacity(in, max_output_bytes), limit);
    auto buffer = std::make_unique_for_overwrite<uint8_t[]>(capacity);
    size_t produced = 0;
    size_t consumed = 0;

    while (true) {
      if (produced == capacity) {
        if (capacity == limit) break;  // Over the cap; reported below.
        size_t grown = capacity > limit / 2 ? limit : std::max(capacity * 2, capacity + 4096);
        grown = std::min(grown, limit);
        auto bigger = std::make_unique_for_overwrite<uint8_t[]>(grown);
        std::memcpy(bigger.get(), buffer.get(), produced);
        buffer = std::move(bigger);
        capacity = grown;
      }
      size_t in_chunk = std::min(in.size() - consumed, kMaxChunk);
      size_t out_chunk = std::min(capacity - produced, kMaxChunk);
      zs.next_in = const_cast<Bytef*>(in.data() + consumed);  // zlib's API is not const-correct.
      zs.avail_in = static_cast<uInt>(in_chunk);
      zs.next_out = buffer.get() + produced;
      zs.avail_out = static_cast<uInt>(out_chunk);
      int rc = inflate(&zs, Z_NO_FLUSH);
      consumed += in_chunk - zs.avail_in;
      produced += out_chunk - zs.avail_out;
      if (produced > max_output_bytes) break;
      if (rc == Z_STREAM_END) {
        std::span<const uint8_t> rest = in.subspan(consumed);
        if (rest.empty()) return InflatedBytes(std::move(buffer), produced);
        // Concatenated members are one stream to gzip -dc; anything else is not gzip.
        if (!HasGzipMagic(rest)) {
          return InvalidArgumentError("unexpected " + std::to_string(rest.size()) + " bytes after the gzip stream");
        }
        if (inflateReset(&zs) != Z_OK) return InternalError("cannot reset zlib");
        continue;
      }
      if (rc == Z_OK) continue;
      if (rc == Z_BUF_ERROR) {
        if (zs.avail_out == 0) continue;  // Needs more room: grown at the top of the loop.
        if (consumed == in.size()) return DataLossError("gzip stream is truncated");
        continue;
      }
      if (rc == Z_MEM_ERROR) return ResourceExhaustedError("zlib ran out of memory");
      std::string why = zs.msg != nullptr ? zs.msg : "error " + std::to_string(rc);
      return DataLossError("corrupt gzip stream: " + why);
    }
    return ResourceExhaustedError("decompressed profile exceeds " + std::to_string(max_output_bytes) + " bytes");
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory inflating the profile");
  }
}

}  // namespace gotestrun::pprof
