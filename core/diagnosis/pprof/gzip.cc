#include "core/diagnosis/pprof/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

namespace gotestrun::pprof {
namespace {

// zlib counts in 32-bit uInt; feed it at most this much at a time.
constexpr size_t kMaxChunk = size_t{1} << 30;
// Where the first pass writes the output it only counts.
constexpr size_t kScratchBytes = size_t{64} << 10;

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

// Inflates every member of `in` into `out` (`out_size` bytes, reused from the start
// when `wrap`), stopping as soon as more than `max_output_bytes` came out. The number
// of bytes produced, which is over the cap when the output is.
StatusOr<size_t> InflateInto(std::span<const uint8_t> in, uint8_t* out, size_t out_size, bool wrap,
                             size_t max_output_bytes) {
  Inflater inflater;
  GTR_RETURN_IF_ERROR(inflater.Init());
  z_stream& zs = inflater.stream();
  size_t produced = 0;
  size_t consumed = 0;
  while (true) {
    size_t at = wrap ? produced % out_size : produced;
    size_t room = std::min(out_size - at, kMaxChunk);
    size_t in_chunk = std::min(in.size() - consumed, kMaxChunk);
    zs.next_in = const_cast<Bytef*>(in.data() + consumed);  // zlib's API is not const-correct.
    zs.avail_in = static_cast<uInt>(in_chunk);
    zs.next_out = out + at;
    zs.avail_out = static_cast<uInt>(room);
    int rc = inflate(&zs, Z_NO_FLUSH);
    consumed += in_chunk - zs.avail_in;
    produced += room - zs.avail_out;
    if (produced > max_output_bytes) return produced;
    if (rc == Z_STREAM_END) {
      std::span<const uint8_t> rest = in.subspan(consumed);
      if (rest.empty()) return produced;
      // Concatenated members are one stream to gzip -dc; anything else is not gzip.
      if (!HasGzipMagic(rest)) {
        return InvalidArgumentError("unexpected " + std::to_string(rest.size()) + " bytes after the gzip stream");
      }
      if (inflateReset(&zs) != Z_OK) return InternalError("cannot reset zlib");
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {
      if (zs.avail_out == 0) {
        if (!wrap && produced == out_size) return InternalError("gzip output outgrew its counted size");
        continue;
      }
      if (consumed == in.size()) return DataLossError("gzip stream is truncated");
      continue;
    }
    if (rc == Z_MEM_ERROR) return ResourceExhaustedError("zlib ran out of memory");
    std::string why = zs.msg != nullptr ? zs.msg : "error " + std::to_string(rc);
    return DataLossError("corrupt gzip stream: " + why);
  }
}

}  // namespace

StatusOr<InflatedBytes> InflateGzip(std::span<const uint8_t> in, size_t max_output_bytes) {
  if (!HasGzipMagic(in)) return InvalidArgumentError("not gzip: the input does not start with 1f 8b");
  try {
    // Two passes: the first counts the output into a small scratch buffer (and checks
    // the whole stream), the second fills one buffer of exactly that size. A buffer
    // grown as it fills holds its old and new storage at once while copying, up to
    // 1.5x the cap, and the gzip trailer's size cannot be trusted to size it.
    auto scratch = std::make_unique_for_overwrite<uint8_t[]>(kScratchBytes);
    StatusOr<size_t> size = InflateInto(in, scratch.get(), kScratchBytes, /*wrap=*/true, max_output_bytes);
    if (!size.ok()) return size.status();
    if (*size > max_output_bytes) {
      return ResourceExhaustedError("decompressed profile exceeds " + std::to_string(max_output_bytes) + " bytes");
    }
    scratch.reset();
    auto buffer = std::make_unique_for_overwrite<uint8_t[]>(std::max<size_t>(*size, 1));
    StatusOr<size_t> filled = InflateInto(in, buffer.get(), std::max<size_t>(*size, 1), /*wrap=*/false, *size);
    if (!filled.ok()) return filled.status();
    if (*filled != *size) return InternalError("gzip output changed size between passes");
    return InflatedBytes(std::move(buffer), *size);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory inflating the profile");
  }
}

}  // namespace gotestrun::pprof
