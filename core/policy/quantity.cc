#include "core/policy/quantity.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <utility>

namespace gotestrun::policy {
namespace {

// Long enough for any sensible quantity, short enough that the digit arithmetic
// below stays trivial; Kubernetes itself has no limit, but nobody writes 100 digits.
constexpr std::size_t kMaxQuantityLength = 128;

// Exponents beyond this cannot change the outcome (the digits are bounded by the
// length cap), so they are clamped instead of overflowing.
constexpr std::int64_t kExponentClamp = 100000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A quantity as written: value = digits x 10^exp10 x 2^exp2, with digits a
// decimal integer without leading zeros (empty for zero).
struct Scaled {
  bool negative = false;
  std::string digits;
  std::int64_t exp10 = 0;
  int exp2 = 0;
};

std::string Quote(std::string_view text) {
  std::string out = "\"";
  out.append(text);
  out += '"';
  return out;
}

Status QuantityError(std::string_view kind, std::string_view text, std::string_view what) {
  std::string message(kind);
  message += " quantity ";
  message += Quote(text);
  message += ": ";
  message.append(what);
  return InvalidArgumentError(std::move(message));
}

struct Suffix {
  std::string_view name;
  int exp10;
  int exp2;
};

constexpr std::array<Suffix, 15> kSuffixes = {{
    {"Ki", 0, 10},
    {"Mi", 0, 20},
    {"Gi", 0, 30},
    {"Ti", 0, 40},
    {"Pi", 0, 50},
    {"Ei", 0, 60},
    {"n", -9, 0},
    {"u", -6, 0},
    {"m", -3, 0},
    {"k", 3, 0},
    {"M", 6, 0},
    {"G", 9, 0},
    {"T", 12, 0},
    {"P", 15, 0},
    {"E", 18, 0},
}};

constexpr std::string_view kSuffixHelp =
    "use a binary suffix (Ki, Mi, Gi, Ti, Pi, Ei), a decimal one (k, M, G, T, P, E; m for thousandths), "
    "an exponent such as e9, or none";

StatusOr<Scaled> ParseScaled(std::string_view kind, std::string_view text) {
  if (text.empty()) return QuantityError(kind, text, "empty");
  if (text.size() > kMaxQuantityLength) {
    return QuantityError(kind, text.substr(0, 32), "longer than 128 characters");
  }
  Scaled out;
  std::size_t pos = 0;
  if (text[pos] == '+' || text[pos] == '-') {
    out.negative = text[pos] == '-';
    ++pos;
  }
  std::size_t int_begin = pos;
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  std::string_view int_digits = text.substr(int_begin, pos - int_begin);
  std::string_view frac_digits;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t frac_begin = pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    frac_digits = text.substr(frac_begin, pos - frac_begin);
  }
  if (int_digits.empty() && frac_digits.empty()) {
    return QuantityError(kind, text, "no number (want e.g. 512Mi, 1.5Gi or 1e9)");
  }

  std::string_view suffix = text.substr(pos);
  if (!suffix.empty()) {
    bool known = false;
    for (const Suffix& s : kSuffixes) {
      if (suffix == s.name) {
        out.exp10 = s.exp10;
        out.exp2 = s.exp2;
        known = true;
        break;
      }
    }
    // "E" alone is exa; "E3" or "e3" is an exponent, as in resource.Quantity.
    if (!known && suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
      std::size_t e = 1;
      bool exp_negative = false;
      if (suffix[e] == '+' || suffix[e] == '-') {
        exp_negative = suffix[e] == '-';
        ++e;
      }
      if (e == suffix.size()) return QuantityError(kind, text, "exponent without digits");
      std::int64_t exponent = 0;
      for (; e < suffix.size(); ++e) {
        if (!IsDigit(suffix[e])) {
          return QuantityError(kind, text, "exponent " + Quote(suffix) + " is not an integer");
        }
        exponent = std::min<std::int64_t>(exponent * 10 + (suffix[e] - '0'), kExponentClamp);
      }
      out.exp10 = exp_negative ? -exponent : exponent;
      known = true;
    }
    if (!known) {
      return QuantityError(kind, text, "unknown suffix " + Quote(suffix) + "; " + std::string(kSuffixHelp));
    }
  }

  std::string digits;
  digits.reserve(int_digits.size() + frac_digits.size());
  digits.append(int_digits);
  digits.append(frac_digits);
  out.exp10 -= static_cast<std::int64_t>(frac_digits.size());
  std::size_t first = digits.find_first_not_of('0');
  out.digits = first == std::string::npos ? std::string() : digits.substr(first);
  return out;
}

// digits := digits x 2, in decimal.
void Double(std::string& digits) {
  int carry = 0;
  for (std::size_t i = digits.size(); i-- > 0;) {
    int d = (digits[i] - '0') * 2 + carry;
    digits[i] = static_cast<char>('0' + d % 10);
    carry = d / 10;
  }
  if (carry != 0) digits.insert(digits.begin(), static_cast<char>('0' + carry));
}

// The scaled value x 10^shift as an integer, rounded up; nullopt if above the cap.
std::optional<std::uint64_t> ToInteger(Scaled value, std::int64_t shift, std::uint64_t cap) {
  if (value.digits.empty()) return 0;
  for (int i = 0; i < value.exp2; ++i) Double(value.digits);
  std::int64_t exp10 = value.exp10 + shift;
  std::int64_t int_len = static_cast<std::int64_t>(value.digits.size()) + exp10;
  // The cap has at most 19 decimal digits, so more integer digits are always above it.
  if (int_len > 19) return std::nullopt;
  if (int_len <= 0) return 1;  // Only a fraction, and it is not zero.
  std::uint64_t whole = 0;
  for (std::int64_t i = 0; i < int_len; ++i) {
    std::size_t at = static_cast<std::size_t>(i);
    int d = at < value.digits.size() ? value.digits[at] - '0' : 0;
    whole = whole * 10 + static_cast<std::uint64_t>(d);
  }
  bool fraction = false;
  for (std::size_t i = static_cast<std::size_t>(int_len); i < value.digits.size(); ++i) {
    if (value.digits[i] != '0') {
      fraction = true;
      break;
    }
  }
  if (fraction) {
    if (whole >= cap) return std::nullopt;
    ++whole;
  }
  if (whole > cap) return std::nullopt;
  return whole;
}

StatusOr<std::uint64_t> ParseAsInteger(std::string_view kind, std::string_view text, std::int64_t shift,
                                       std::uint64_t cap) {
  StatusOr<Scaled> scaled = ParseScaled(kind, text);
  if (!scaled.ok()) return scaled.status();
  bool zero = scaled->digits.empty();
  if (scaled->negative && !zero) return QuantityError(kind, text, "negative");
  std::optional<std::uint64_t> value = ToInteger(*std::move(scaled), shift, cap);
  if (!value) {
    return QuantityError(kind, text, "too large (at most " + std::to_string(cap) + ")");
  }
  return *value;
}

struct BinaryUnit {
  int shift;
  std::string_view kubernetes;
  std::string_view go;
};

constexpr std::array<BinaryUnit, 6> kBinaryUnits = {{
    {60, "Ei", ""},
    {50, "Pi", ""},
    {40, "Ti", "TiB"},
    {30, "Gi", "GiB"},
    {20, "Mi", "MiB"},
    {10, "Ki", "KiB"},
}};

}  // namespace

StatusOr<Bytes> ParseMemoryQuantity(std::string_view text) {
  return ParseAsInteger("memory", text, 0, kMaxQuantityBytes);
}

StatusOr<std::uint64_t> ParseCpuMillis(std::string_view text) {
  return ParseAsInteger("cpu", text, 3, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
}

std::string FormatMemoryQuantity(Bytes bytes) {
  if (bytes == 0) return "0";
  for (const BinaryUnit& unit : kBinaryUnits) {
    Bytes size = Bytes{1} << unit.shift;
    if (bytes % size == 0) return std::to_string(bytes / size) + std::string(unit.kubernetes);
  }
  return std::to_string(bytes);
}

std::string FormatMemoryApprox(Bytes bytes) {
  // Exact when that stays short: "1200Mi" says more than "1.2Gi".
  for (const BinaryUnit& unit : kBinaryUnits) {
    Bytes size = Bytes{1} << unit.shift;
    if (bytes >= size && bytes % size == 0 && bytes / size < 10000) {
      return std::to_string(bytes / size) + std::string(unit.kubernetes);
    }
  }
  for (const BinaryUnit& unit : kBinaryUnits) {
    Bytes size = Bytes{1} << unit.shift;
    if (bytes < size) continue;
    // Tenths, rounded to nearest, in integers so the text never depends on the FPU.
    Bytes whole = bytes / size;
    Bytes tenths = ((bytes % size) * 10 + size / 2) / size;
    if (tenths == 10) {
      ++whole;
      tenths = 0;
    }
    return std::to_string(whole) + "." + std::to_string(tenths) + std::string(unit.kubernetes);
  }
  return std::to_string(bytes);
}

std::string FormatGoMemLimit(Bytes bytes) {
  if (bytes == 0) return "0";
  for (const BinaryUnit& unit : kBinaryUnits) {
    if (unit.go.empty()) continue;
    Bytes size = Bytes{1} << unit.shift;
    if (bytes % size == 0) return std::to_string(bytes / size) + std::string(unit.go);
  }
  return std::to_string(bytes) + "B";
}

}  // namespace gotestrun::policy
