// Hand-built profile.proto bytes for the reader's tests: the tests say exactly which
// bytes the reader gets, down to packing, field order and malformations.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gotestrun::pprof::testing {

inline std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

// One protobuf message, field by field.
class ProtoWriter {
 public:
  ProtoWriter& Key(uint32_t field, int wire_type) {
    bytes_ += Varint(uint64_t{field} << 3 | static_cast<uint64_t>(wire_type));
    return *this;
  }
  ProtoWriter& Uint(uint32_t field, uint64_t v) {
    Key(field, 0);
    bytes_ += Varint(v);
    return *this;
  }
  ProtoWriter& Int(uint32_t field, int64_t v) { return Uint(field, static_cast<uint64_t>(v)); }
  ProtoWriter& Bytes(uint32_t field, std::string_view payload) {
    Key(field, 2);
    bytes_ += Varint(payload.size());
    bytes_ += payload;
    return *this;
  }
  ProtoWriter& Message(uint32_t field, const ProtoWriter& m) { return Bytes(field, m.str()); }
  ProtoWriter& Packed(uint32_t field, const std::vector<uint64_t>& values) {
    std::string payload;
    for (uint64_t v : values) payload += Varint(v);
    return Bytes(field, payload);
  }
  ProtoWriter& Fixed64(uint32_t field, uint64_t v) {
    Key(field, 1);
    for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  ProtoWriter& Fixed32(uint32_t field, uint32_t v) {
    Key(field, 5);
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  // A group holding one varint and a nested group: unknown to the reader, to be skipped.
  ProtoWriter& Group(uint32_t field) {
    Key(field, 3);
    Uint(1, 7);
    Key(2, 3);
    Fixed32(3, 9);
    Key(2, 4);
    Key(field, 4);
    return *this;
  }
  // Unknown fields of every wire type.
  ProtoWriter& Unknowns(uint32_t first_field) {
    Uint(first_field, 12345678901234ULL);
    Fixed64(first_field + 1, 0x0102030405060708ULL);
    Bytes(first_field + 2, "unknown payload");
    Group(first_field + 3);
    Fixed32(first_field + 4, 0xdeadbeef);
    return *this;
  }
  ProtoWriter& Raw(std::string_view raw) {
    bytes_ += raw;
    return *this;
  }
  const std::string& str() const { return bytes_; }

 private:
  std::string bytes_;
};

// A profile.proto Profile, with strings interned into a table written last (as Go does).
class ProfileBuilder {
 public:
  struct LineSpec {
    uint64_t function_id;
    int64_t line;
  };

  ProfileBuilder() { Str(""); }

  int64_t Str(const std::string& s) {
    auto [it, inserted] = index_.try_emplace(s, static_cast<int64_t>(strings_.size()));
    if (inserted) strings_.push_back(s);
    return it->second;
  }

  ProfileBuilder& SampleType(const std::string& type, const std::string& unit) {
    body_.Message(1, ProtoWriter().Int(1, Str(type)).Int(2, Str(unit)));
    return *this;
  }
  // The four sample types of a Go heap profile, and its period.
  ProfileBuilder& GoHeapHeader() {
    SampleType("alloc_objects", "count").SampleType("alloc_space", "bytes");
    SampleType("inuse_objects", "count").SampleType("inuse_space", "bytes");
    body_.Message(11, ProtoWriter().Int(1, Str("space")).Int(2, Str("bytes")));
    body_.Int(12, 524288);
    return *this;
  }
  ProfileBuilder& Function(uint64_t id, const std::string& name, const std::string& file, int64_t start_line = 0) {
    ProtoWriter fn;
    fn.Uint(1, id).Int(2, Str(name)).Int(3, Str(name)).Int(4, Str(file)).Int(5, start_line);
    if (unknowns_) fn.Unknowns(20);
    body_.Message(5, fn);
    return *this;
  }
  ProfileBuilder& Location(uint64_t id, const std::vector<LineSpec>& lines, uint64_t address = 0) {
    ProtoWriter loc;
    loc.Uint(1, id).Uint(2, 1).Uint(3, address);
    for (const LineSpec& l : lines) {
      ProtoWriter line;
      line.Uint(1, l.function_id).Int(2, l.line);
      if (unknowns_) line.Unknowns(20);
      loc.Message(4, line);
    }
    if (unknowns_) loc.Unknowns(20);
    body_.Message(4, loc);
    return *this;
  }
  // Values packed, or each as its own field, or the packed run split in two.
  enum class Packing { kPacked, kUnpacked, kSplit };
  ProfileBuilder& Sample(const std::vector<uint64_t>& locations, const std::vector<int64_t>& values,
                         Packing packing = Packing::kPacked) {
    std::vector<uint64_t> raw_values(values.begin(), values.end());
    ProtoWriter s;
    auto put = [&](uint32_t field, const std::vector<uint64_t>& v) {
      if (packing == Packing::kPacked) {
        s.Packed(field, v);
      } else if (packing == Packing::kUnpacked) {
        for (uint64_t x : v) s.Uint(field, x);
      } else {
        size_t half = v.size() / 2;
        s.Packed(field, std::vector<uint64_t>(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(half)));
        for (size_t i = half; i < v.size(); ++i) s.Uint(field, v[i]);
      }
    };
    put(1, locations);
    // A label, as Go writes ("bytes": block size); the reader skips labels.
    s.Message(3, ProtoWriter().Int(1, Str("bytes")).Int(3, 64));
    put(2, raw_values);
    if (unknowns_) s.Unknowns(20);
    body_.Message(2, s);
    return *this;
  }
  ProfileBuilder& WithUnknownFields() {
    unknowns_ = true;
    body_.Unknowns(100);
    return *this;
  }
  // Fields appended verbatim, for malformations.
  ProfileBuilder& Raw(const ProtoWriter& w) {
    body_.Raw(w.str());
    return *this;
  }
  ProtoWriter& body() { return body_; }

  std::string Build() const {
    ProtoWriter out;
    out.Raw(body_.str());
    for (const std::string& s : strings_) out.Bytes(6, s);
    out.Int(9, 1700000000000000000);
    out.Int(14, index_.count("inuse_space") ? index_.at("inuse_space") : 0);
    return out.str();
  }

 private:
  ProtoWriter body_;
  std::vector<std::string> strings_;
  std::map<std::string, int64_t> index_;
  bool unknowns_ = false;
};

inline std::string Gzip(std::string_view data, int level = Z_DEFAULT_COMPRESSION) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  return out;
}

// A gzip stream of `size` zero bytes, compressed in chunks so the test does not hold
// the whole expansion.
inline std::string GzipZeros(size_t size) {
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_RLE) != Z_OK) {  // Run-length: fast on zeros.
    throw std::runtime_error("deflateInit2");
  }
  const std::string chunk(1 << 20, '\0');
  std::string out;
  std::string buffer(1 << 16, '\0');
  size_t left = size;
  int rc = Z_OK;
  do {
    size_t n = std::min(left, chunk.size());
    left -= n;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    zs.avail_in = static_cast<uInt>(n);
    int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buffer.data());
      zs.avail_out = static_cast<uInt>(buffer.size());
      rc = deflate(&zs, flush);
      out.append(buffer.data(), buffer.size() - zs.avail_out);
    } while (zs.avail_out == 0);
  } while (left > 0);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  return out;
}

inline std::string Gunzip(std::string_view gz) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("inflateInit2");
  std::string out;
  std::string buffer(1 << 16, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buffer.data());
    zs.avail_out = static_cast<uInt>(buffer.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buffer.data(), buffer.size() - zs.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("inflate");
  return out;
}

inline std::string TestdataPath(const std::string& name) { return std::string(PPROF_TESTDATA) + "/" + name; }

inline std::string ReadTestdata(const std::string& name) {
  std::ifstream in(TestdataPath(name), std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + TestdataPath(name));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace gotestrun::pprof::testing
