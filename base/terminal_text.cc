#include "base/terminal_text.h"

#include <cstdint>
#include <cstdio>

namespace gotestrun {
namespace {

void AppendHex(std::string& out, unsigned char byte) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", byte);
  out += buf;
}

// Length of the valid UTF-8 sequence of at least two bytes at text[i], 0 if none.
size_t Utf8Length(std::string_view text, size_t i, std::uint32_t& code_point) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  size_t n;
  std::uint32_t min;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2, min = 0x80, code_point = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3, min = 0x800, code_point = b0 & 0x0f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4, min = 0x10000, code_point = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (b & 0x3f);
  }
  if (code_point < min || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) return 0;
  return n;
}

}  // namespace

std::string TerminalText(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      const bool control = b < 0x20 || b == 0x7f;
      if (control && !(b == '\t' || (b == '\n' && keep_newlines))) {
        AppendHex(out, b);
      } else {
        out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    std::uint32_t code_point = 0;
    const size_t n = Utf8Length(text, i, code_point);
    if (n == 0) {
      AppendHex(out, b);
      ++i;
    } else if (code_point <= 0x9f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(code_point));
      out += buf;
      i += n;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace gotestrun
