// Reading the protobuf wire format by hand, bounded. Every read checks the bytes that
// remain, so a truncated or lying input ends in a failed read, never in a read past the
// end. Reads return bool rather than Status because they run once per varint of a
// profile; the caller turns a failure into a Status with its context, and error()
// says what went wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace gotestrun::pprof::wire {

enum class WireType : uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// Groups are deprecated but legal; nesting beyond this is treated as hostile.
inline constexpr int kMaxGroupDepth = 64;
// Field numbers are 29 bits.
inline constexpr uint64_t kMaxFieldNumber = (uint64_t{1} << 29) - 1;

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool done() const { return p_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  // Why the last read failed; a static string.
  const char* error() const { return error_; }

  // A varint of at most 10 bytes whose value fits in 64 bits (as protowire demands).
  bool ReadVarint(uint64_t* value) {
    if (p_ != end_ && *p_ < 0x80) {  // The common case: ids and small values.
      *value = *p_++;
      return true;
    }
    return ReadVarintSlow(value);
  }

  // A field key. Field number 0, numbers above 2^29-1 and wire types 6 and 7 are
  // malformed.
  bool ReadTag(uint32_t* field, WireType* type) {
    uint64_t key;
    if (!ReadVarint(&key)) return false;
    uint64_t number = key >> 3;
    uint8_t wire = static_cast<uint8_t>(key & 7);
    if (number == 0 || number > kMaxFieldNumber) return Fail("invalid field number");
    if (wire > 5) return Fail("invalid wire type");
    *field = static_cast<uint32_t>(number);
    *type = static_cast<WireType>(wire);
    return true;
  }

  // The payload of a length-delimited field; the declared length must fit in what
  // remains, which bounds any allocation a caller makes from it.
  bool ReadLengthDelimited(std::span<const uint8_t>* payload) {
    uint64_t length;
    if (!ReadVarint(&length)) return false;
    if (length > remaining()) return Fail("length exceeds the enclosing message");
    *payload = std::span<const uint8_t>(p_, static_cast<size_t>(length));
    p_ += length;
    return true;
  }

  // Skips the value of a field whose key was just read, whatever its wire type.
  // Groups are skipped up to their matching end-group key.
  bool Skip(uint32_t field, WireType type) {
    switch (type) {
      case WireType::kVarint: {
        uint64_t ignored;
        return ReadVarint(&ignored);
      }
      case WireType::kFixed64: return Advance(8);
      case WireType::kFixed32: return Advance(4);
      case WireType::kLengthDelimited: {
        std::span<const uint8_t> ignored;
        return ReadLengthDelimited(&ignored);
      }
      case WireType::kStartGroup: return SkipGroup(field);
      case WireType::kEndGroup: return Fail("end-group without a start-group");
    }
    return Fail("invalid wire type");
  }

 private:
  bool Fail(const char* why) {
    error_ = why;
    return false;
  }

  bool Advance(size_t n) {
    if (n > remaining()) return Fail("truncated fixed-width field");
    p_ += n;
    return true;
  }

  bool ReadVarintSlow(uint64_t* value) {
    uint64_t result = 0;
    for (int i = 0; i < 10; ++i) {
      if (p_ == end_) return Fail("truncated varint");
      uint8_t b = *p_++;
      if (i == 9 && b > 1) return Fail("varint overflows 64 bits");
      result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if (b < 0x80) {
        *value = result;
        return true;
      }
    }
    return Fail("varint longer than 10 bytes");  // Unreachable: the 10th byte is <= 1.
  }

  // Iterative, so a hostile nesting cannot exhaust the stack.
  bool SkipGroup(uint32_t field) {
    uint32_t open[kMaxGroupDepth];
    int depth = 0;
    open[depth++] = field;
    while (depth > 0) {
      uint32_t f;
      WireType t;
      if (!ReadTag(&f, &t)) return false;
      if (t == WireType::kEndGroup) {
        if (f != open[depth - 1]) return Fail("mismatched end-group");
        --depth;
      } else if (t == WireType::kStartGroup) {
        if (depth == kMaxGroupDepth) return Fail("groups nested too deeply");
        open[depth++] = f;
      } else if (!Skip(f, t)) {
        return false;
      }
    }
    return true;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  const char* error_ = nullptr;
};

}  // namespace gotestrun::pprof::wire
