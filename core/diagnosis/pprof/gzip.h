// Bounded gzip inflation: the whole stream into one buffer, refusing to produce more
// than a given number of bytes, so a gzip bomb costs at most that much memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "base/status.h"

namespace gotestrun::pprof {

// Bytes produced by InflateGzip. Move-only; the storage is not zero-filled first
// because inflating writes every byte anyway.
class InflatedBytes {
 public:
  InflatedBytes() = default;
  InflatedBytes(std::unique_ptr<uint8_t[]> data, size_t size) : data_(std::move(data)), size_(size) {}

  std::span<const uint8_t> bytes() const { return {data_.get(), size_}; }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

// Inflates a gzip stream of one or more members (as `gzip -dc` does).
// InvalidArgument when the input is not gzip or has bytes after the last member,
// DataLoss when the stream is corrupt or truncated, ResourceExhausted when the output
// would exceed max_output_bytes.
StatusOr<InflatedBytes> InflateGzip(std::span<const uint8_t> gzip, size_t max_output_bytes);

}  // namespace gotestrun::pprof
