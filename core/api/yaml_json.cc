#include "core/api/yaml_json.h"

#include <locale.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "base/base64.h"

namespace gotestrun::api {
namespace {

// ---- UTF-8 -------------------------------------------------------------------------

// Length of the UTF-8 sequence at s[i], or 0 when the bytes there are not a valid one
// (overlong forms, surrogates and code points past U+10FFFF included).
size_t Utf8Length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c == 0xE0) {
    n = 3, lo = 0xA0;
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    n = 3;
  } else if (c == 0xED) {
    n = 3, hi = 0x9F;
  } else if (c == 0xF0) {
    n = 4, lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    n = 4;
  } else if (c == 0xF4) {
    n = 4, hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size() || at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  return n;
}

// The offset of the first byte that does not begin a valid sequence, if any.
std::optional<size_t> FirstInvalidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8Length(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

// Each byte that does not begin a valid sequence becomes U+FFFD, as Go's encoding/json
// writes a string holding arbitrary bytes.
std::string CoerceUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8Length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

// ---- numbers as go-yaml v2 reads them --------------------------------------------

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string WithoutUnderscores(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != '_') out += c;
  }
  return out;
}

// strconv.ParseUint(s, 0, 64) on text without a sign: 0x, 0o and 0b prefixes, and a
// leading 0 for octal. Go takes a prefix only when a digit follows it ("0x" alone is
// read as octal and fails), which from_chars on the rest reproduces.
std::optional<uint64_t> ParseBase0(std::string_view s) {
  int base = 10;
  if (s.size() >= 3 && s[0] == '0' && (Lower(s[1]) == 'x' || Lower(s[1]) == 'o' || Lower(s[1]) == 'b')) {
    base = Lower(s[1]) == 'x' ? 16 : Lower(s[1]) == 'o' ? 8 : 2;
    s.remove_prefix(2);
  } else if (s.size() >= 2 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// strconv.ParseInt(s, 0, 64).
std::optional<int64_t> ParseGoInt(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::optional<uint64_t> magnitude = ParseBase0(s);
  if (!magnitude) return std::nullopt;
  constexpr uint64_t kMinMagnitude = uint64_t{1} << 63;
  if (negative) {
    if (*magnitude > kMinMagnitude) return std::nullopt;
    return *magnitude == kMinMagnitude ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(*magnitude);
  }
  if (*magnitude >= kMinMagnitude) return std::nullopt;
  return static_cast<int64_t>(*magnitude);
}

// go-yaml's float form: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool IsYamlFloat(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// Go accepts '_' in a number only between two digits.
bool UnderscoresBetweenDigits(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && (i == 0 || i + 1 == s.size() || !IsDigit(s[i - 1]) || !IsDigit(s[i + 1]))) return false;
  }
  return true;
}

// The value of a decimal float already checked for form; nullopt when it is too large
// for a double (Go's ParseFloat fails there, and go-yaml keeps the text as a string).
// Underflow is not an error in Go: the nearest value, possibly 0, is taken.
std::optional<double> ParseDecimal(const std::string& s) {
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", locale_t{});
  double v = strtod_l(s.c_str(), nullptr, c_locale);
  if (std::isinf(v)) return std::nullopt;
  return v;
}

// ---- timestamps (only for an explicit !!timestamp tag) ----------------------------

// Reads between `min_width` and `max_width` digits at s[i].
std::optional<int> ReadNumber(std::string_view s, size_t& i, int min_width, int max_width) {
  int v = 0, n = 0;
  while (i < s.size() && IsDigit(s[i]) && n < max_width) {
    v = v * 10 + (s[i++] - '0');
    ++n;
  }
  if (n < min_width) return std::nullopt;
  return v;
}

bool Take(std::string_view s, size_t& i, char c) {
  if (i >= s.size() || s[i] != c) return false;
  ++i;
  return true;
}

// Fractional seconds: any number of digits.
bool TakeFraction(std::string_view s, size_t& i) {
  size_t start = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  return i > start;
}

// The forms go-yaml v2 accepts as a timestamp: 2001-12-14, 2001-12-14 21:59:43.10 and
// 2001-12-14T21:59:43.10Z / +01:00, with one- or two-digit fields after the year.
bool IsTimestamp(std::string_view s) {
  size_t i = 0;
  auto year = ReadNumber(s, i, 4, 4);
  if (!year || !Take(s, i, '-')) return false;
  auto month = ReadNumber(s, i, 1, 2);
  if (!month || !Take(s, i, '-')) return false;
  auto day = ReadNumber(s, i, 1, 2);
  if (!day || *month < 1 || *month > 12 || *day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  if (*day > kDays[*month - 1] + ((*month == 2 && leap) ? 1 : 0)) return false;
  if (i == s.size()) return true;
  bool zoned = s[i] == 'T' || s[i] == 't';
  if (!zoned && s[i] != ' ') return false;
  ++i;
  auto hour = ReadNumber(s, i, 1, 2);
  if (!hour || *hour > 23 || !Take(s, i, ':')) return false;
  auto minute = ReadNumber(s, i, 1, 2);
  if (!minute || *minute > 59 || !Take(s, i, ':')) return false;
  auto second = ReadNumber(s, i, 1, 2);
  if (!second || *second > 59) return false;
  if (Take(s, i, '.') && !TakeFraction(s, i)) return false;
  if (!zoned) return i == s.size();
  if (Take(s, i, 'Z')) return i == s.size();
  if (!Take(s, i, '+') && !Take(s, i, '-')) return false;
  auto zh = ReadNumber(s, i, 2, 2);
  if (!zh || !Take(s, i, ':')) return false;
  auto zm = ReadNumber(s, i, 2, 2);
  return zm && i == s.size();
}

// ---- floats written as Go writes them --------------------------------------------

// A finite value as its shortest round-tripping decimal digits: value = 0.DIGITS x 10^point.
struct Decimal {
  bool negative = false;
  std::string digits;
  int point = 0;
};

template <typename F>
Decimal Shortest(F v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view t(buf, ec == std::errc() ? static_cast<size_t>(end - buf) : 0);
  Decimal d;
  if (!t.empty() && t[0] == '-') d.negative = true, t.remove_prefix(1);
  size_t e = t.find('e');
  for (char c : t.substr(0, e)) {
    if (c != '.') d.digits += c;
  }
  std::string_view exp = e == std::string_view::npos ? "0" : t.substr(e + 1);
  if (!exp.empty() && exp[0] == '+') exp.remove_prefix(1);
  int x = 0;
  std::from_chars(exp.data(), exp.data() + exp.size(), x);
  d.point = x + 1;
  return d;
}

// Go's %f with the shortest digits: "1000", "0.001", "1.5".
std::string FixedForm(const Decimal& d) {
  std::string out = d.negative ? "-" : "";
  const int n = static_cast<int>(d.digits.size());
  if (d.point <= 0) {
    out += "0";
  } else {
    for (int i = 0; i < d.point; ++i) out += i < n ? d.digits[i] : '0';
  }
  if (n > d.point) {
    out += '.';
    for (int i = d.point; i < n; ++i) out += i < 0 ? '0' : d.digits[i];
  }
  return out;
}

// Go's %e with the shortest digits: "1e+06", "3.5e-07".
std::string ExponentForm(const Decimal& d) {
  std::string out = d.negative ? "-" : "";
  out += d.digits[0];
  if (d.digits.size() > 1) out += "." + d.digits.substr(1);
  int exp = d.point - 1;
  out += exp < 0 ? "e-" : "e+";
  if (std::abs(exp) < 10) out += '0';
  out += std::to_string(std::abs(exp));
  return out;
}

// strconv.FormatFloat(v, 'g', -1, 32), with go-yaml's names for the infinities and NaN:
// how sigs.k8s.io/yaml turns a float key into a string.
std::string GoFloat32Key(double v) {
  if (std::isnan(v)) return ".nan";
  const float f = static_cast<float>(v);
  if (std::isinf(f)) return f > 0 ? ".inf" : "-.inf";
  Decimal d = Shortest(f);
  int exp = d.point - 1;
  return (exp < -4 || exp >= 6) ? ExponentForm(d) : FixedForm(d);
}

// What nlohmann::json reads from Go's encoding/json text of a finite float64: %f
// between 1e-6 and 1e21 (so an integral value reads back as an integer), %e elsewhere.
Json GoJsonFloat(double v) {
  double a = std::fabs(v);
  if (a != 0 && (a < 1e-6 || a >= 1e21)) return v;
  Decimal d = Shortest(v);
  if (static_cast<int>(d.digits.size()) > d.point) return v;  // has a fraction: a float either way
  return Json::parse(FixedForm(d));
}

// ---- scalars ----------------------------------------------------------------------

struct Scalar {
  enum class Kind { kNull, kBool, kInt, kUint, kFloat, kString, kTimestamp };
  Kind kind = Kind::kString;
  bool boolean = false;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  std::string text;
};

Scalar Text(std::string s) {
  Scalar r;
  r.text = std::move(s);
  return r;
}

// go-yaml v2's implicit resolution of an untagged plain scalar (and of the text under a
// !!bool, !!int, !!float, !!null or !!timestamp tag, which is then checked against it).
Scalar ResolvePlain(const std::string& in, bool timestamps) {
  static const std::map<std::string, Scalar, std::less<>> kWords = [] {
    std::map<std::string, Scalar, std::less<>> m;
    Scalar t{.kind = Scalar::Kind::kBool, .boolean = true};
    Scalar f{.kind = Scalar::Kind::kBool, .boolean = false};
    Scalar null{.kind = Scalar::Kind::kNull};
    for (const char* w : {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}) m[w] = t;
    for (const char* w : {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}) m[w] = f;
    for (const char* w : {"", "~", "null", "Null", "NULL"}) m[w] = null;
    auto fl = [](double v) { return Scalar{.kind = Scalar::Kind::kFloat, .f = v}; };
    for (const char* w : {".nan", ".NaN", ".NAN"}) m[w] = fl(std::numeric_limits<double>::quiet_NaN());
    for (const char* w : {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}) m[w] = fl(HUGE_VAL);
    for (const char* w : {"-.inf", "-.Inf", "-.INF"}) m[w] = fl(-HUGE_VAL);
    return m;
  }();
  if (auto it = kWords.find(in); it != kWords.end()) return it->second;
  if (in.empty()) return Text(in);
  const char c = in[0];
  if (c == '.') {
    if (!UnderscoresBetweenDigits(in)) return Text(in);
    std::string plain = WithoutUnderscores(in);
    if (!IsYamlFloat(plain)) return Text(in);
    if (auto v = ParseDecimal(plain)) return Scalar{.kind = Scalar::Kind::kFloat, .f = *v};
    return Text(in);
  }
  if (IsDigit(c) || c == '+' || c == '-') {
    if (timestamps && IsTimestamp(in)) return Scalar{.kind = Scalar::Kind::kTimestamp, .text = in};
    std::string plain = WithoutUnderscores(in);
    if (auto v = ParseGoInt(plain)) return Scalar{.kind = Scalar::Kind::kInt, .i = *v};
    if (auto v = ParseBase0(plain)) return Scalar{.kind = Scalar::Kind::kUint, .u = *v};
    if (IsYamlFloat(plain)) {
      if (auto v = ParseDecimal(plain)) return Scalar{.kind = Scalar::Kind::kFloat, .f = *v};
    }
  }
  return Text(in);
}

// What a node's tag asks for, in yaml-cpp's spelling: "?" for a plain scalar, "!" for a
// quoted or block one (or an explicit "!"), full URIs for the rest.
enum class Tag { kPlain, kString, kBool, kInt, kFloat, kNull, kTimestamp, kBinary, kMerge, kOther };

Tag TagOf(const std::string& tag) {
  if (tag.empty() || tag == "?") return Tag::kPlain;
  if (tag == "!") return Tag::kString;
  static const std::string kPrefix = "tag:yaml.org,2002:";
  if (tag.compare(0, kPrefix.size(), kPrefix) != 0) return Tag::kOther;
  std::string_view name = std::string_view(tag).substr(kPrefix.size());
  if (name == "str") return Tag::kString;
  if (name == "bool") return Tag::kBool;
  if (name == "int") return Tag::kInt;
  if (name == "float") return Tag::kFloat;
  if (name == "null") return Tag::kNull;
  if (name == "timestamp") return Tag::kTimestamp;
  if (name == "binary") return Tag::kBinary;
  if (name == "merge") return Tag::kMerge;
  return Tag::kOther;
}

const char* KindName(Scalar::Kind k) {
  switch (k) {
    case Scalar::Kind::kNull: return "!!null";
    case Scalar::Kind::kBool: return "!!bool";
    case Scalar::Kind::kInt:
    case Scalar::Kind::kUint: return "!!int";
    case Scalar::Kind::kFloat: return "!!float";
    case Scalar::Kind::kTimestamp: return "!!timestamp";
    case Scalar::Kind::kString: break;
  }
  return "!!str";
}

// ---- the conversion ---------------------------------------------------------------

class Converter {
 public:
  explicit Converter(const YamlLimits& limits) : limits_(limits) {}

  StatusOr<Json> Document(const YAML::Node& node) {
    path_.clear();
    depth_ = 0;
    return Value(node);  // values_ and bytes_ run on over the documents of a stream
  }

 private:
  // Names where the converter is while it descends, for messages.
  class PathScope {
   public:
    PathScope(Converter* c, std::string segment) : c_(c) { c_->path_.push_back(std::move(segment)); }
    ~PathScope() { c_->path_.pop_back(); }
    PathScope(const PathScope&) = delete;
    PathScope& operator=(const PathScope&) = delete;

   private:
    Converter* c_;
  };

  static std::string KeySegment(const std::string& key) {
    bool simple = !key.empty();
    for (char c : key) {
      if (!(IsDigit(c) || (Lower(c) >= 'a' && Lower(c) <= 'z') || c == '_' || c == '-')) simple = false;
    }
    return simple ? "." + key : "[" + Json(key).dump() + "]";
  }

  Status Fail(const YAML::Node& node, const std::string& what) const {
    std::string where;
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null())
      where = "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
    std::string path;
    for (const std::string& s : path_) path += s;
    if (!path.empty() && path[0] == '.') path.erase(0, 1);
    if (!path.empty()) where += (where.empty() ? "at " : ", at ") + path;
    return InvalidArgumentError(where.empty() ? what : where + ": " + what);
  }

  StatusOr<Json> Value(const YAML::Node& node) {
    if (++values_ > limits_.max_values) {
      return Fail(node, "the document expands to more than " + std::to_string(limits_.max_values) +
                            " values (aliases repeating large parts of it?)");
    }
    GTR_RETURN_IF_ERROR(Charge(node, YamlLimits::kValueCost));
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Scalar: {
        GTR_RETURN_IF_ERROR(Charge(node, node.IsScalar() ? node.Scalar().size() : 0));
        StatusOr<Scalar> s = ResolveScalar(node);
        if (!s.ok()) return s.status();
        return ScalarJson(node, *s);
      }
      case YAML::NodeType::Sequence: return Sequence(node);
      case YAML::NodeType::Map: return Mapping(node);
      case YAML::NodeType::Undefined: break;
    }
    return Fail(node, "undefined YAML node");
  }

  Status Charge(const YAML::Node& node, size_t bytes) {
    bytes_ += bytes;
    if (bytes_ > limits_.max_bytes) {
      const bool mib = limits_.max_bytes % (size_t{1} << 20) == 0;
      return Fail(node, "the document expands to more than " +
                            (mib ? std::to_string(limits_.max_bytes >> 20) + " MiB"
                                 : std::to_string(limits_.max_bytes) + " bytes") +
                            " (aliases repeating large parts of it?)");
    }
    return Status::Ok();
  }

  // An alias inside the node it names (`a: &x [*x]`) is a cycle: refused when first
  // met, not expanded until the depth or size budget runs out (with two such aliases
  // per level that is 2^depth work before the refusal).
  Status Descend(const YAML::Node& node) {
    for (const YAML::Node& open : open_) {
      if (open.is(node)) return Fail(node, "an alias refers to a node that contains it");
    }
    if (++depth_ > limits_.max_depth) {
      return Fail(node, "nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    open_.push_back(node);
    return Status::Ok();
  }

  void Ascend() {
    open_.pop_back();
    --depth_;
  }

  StatusOr<Json> Sequence(const YAML::Node& node) {
    GTR_RETURN_IF_ERROR(Descend(node));
    Json out = Json::array();
    size_t index = 0;
    for (const YAML::Node& item : node) {
      PathScope scope(this, "[" + std::to_string(index++) + "]");
      StatusOr<Json> v = Value(item);
      if (!v.ok()) return v.status();
      out.push_back(std::move(*v));
    }
    Ascend();
    return out;
  }

  static bool IsMergeKey(const YAML::Node& key) {
    if (!key.IsScalar() || key.Scalar() != "<<") return false;
    Tag t = TagOf(key.Tag());
    return t == Tag::kPlain || t == Tag::kMerge;
  }

  StatusOr<Json> Mapping(const YAML::Node& node) {
    GTR_RETURN_IF_ERROR(Descend(node));
    Json out = Json::object();
    std::map<std::string, int> written;  // key -> line it was first written on
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies: the iterator's pair is a temporary, gone by the next statement.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (IsMergeKey(key)) {
        PathScope scope(this, KeySegment("<<"));
        GTR_RETURN_IF_ERROR(Merge(value, out));
        continue;
      }
      StatusOr<std::string> name = KeyString(key);
      if (!name.ok()) return name.status();
      GTR_RETURN_IF_ERROR(Charge(key, name->size()));
      auto [first, fresh] = written.emplace(*name, key.Mark().line + 1);
      if (!fresh) {
        return Fail(key, "key " + Json(*name).dump() + " is written twice in one mapping (first on line " +
                             std::to_string(first->second) + ")");
      }
      PathScope scope(this, KeySegment(*name));
      StatusOr<Json> v = Value(value);
      if (!v.ok()) return v.status();
      out[*name] = std::move(*v);
    }
    Ascend();
    return out;
  }

  // go-yaml v2 writes a merged mapping's entries into the map at the place of the merge
  // key, so entries written after it win; of a list of maps, the earlier ones win.
  Status Merge(const YAML::Node& value, Json& into) {
    std::vector<YAML::Node> sources;
    if (value.IsMap()) {
      sources.push_back(value);
    } else if (value.IsSequence()) {
      for (const YAML::Node& item : value) {
        if (!item.IsMap()) return Fail(item, "a merge key (<<) takes a mapping or a list of mappings");
        sources.push_back(item);
      }
    } else {
      return Fail(value, "a merge key (<<) takes a mapping or a list of mappings");
    }
    for (auto it = sources.rbegin(); it != sources.rend(); ++it) {
      StatusOr<Json> m = Value(*it);
      if (!m.ok()) return m.status();
      for (auto& [k, v] : m->items()) into[k] = std::move(v);
    }
    return Status::Ok();
  }

  // sigs.k8s.io/yaml's conversion of a key to a JSON object key.
  StatusOr<std::string> KeyString(const YAML::Node& key) {
    if (key.IsMap() || key.IsSequence()) {
      return Fail(key, "a mapping or a sequence cannot be a key: JSON object keys are strings");
    }
    StatusOr<Scalar> s = ResolveScalar(key);
    if (!s.ok()) return s.status();
    switch (s->kind) {
      case Scalar::Kind::kNull: return Fail(key, "a null key has no JSON form (quote it if it is meant as text)");
      case Scalar::Kind::kBool: return std::string(s->boolean ? "true" : "false");
      case Scalar::Kind::kInt: return std::to_string(s->i);
      case Scalar::Kind::kUint:
        return Fail(key,
                    "the integer key " + std::to_string(s->u) + " is out of the range Kubernetes converts (quote it)");
      case Scalar::Kind::kFloat: return GoFloat32Key(s->f);
      case Scalar::Kind::kString:
      case Scalar::Kind::kTimestamp: break;
    }
    return std::move(s->text);
  }

  StatusOr<Scalar> ResolveScalar(const YAML::Node& node) {
    std::string text = node.IsScalar() ? node.Scalar() : std::string();
    const Tag tag = TagOf(node.Tag());
    switch (tag) {
      case Tag::kString:
      case Tag::kMerge:  // "<<" as a value, or a merge tag away from a key: text
      case Tag::kOther:  // go-yaml leaves the text of an unknown tag as it is
        return Checked(node, Text(std::move(text)));
      case Tag::kBinary: {
        StatusOr<std::string> bytes = Base64Decode(text);
        if (!bytes.ok()) return Fail(node, "!!binary value is not base64");
        return Text(CoerceUtf8(*bytes));
      }
      case Tag::kPlain: return Checked(node, ResolvePlain(text, /*timestamps=*/true));
      case Tag::kBool:
      case Tag::kInt:
      case Tag::kFloat:
      case Tag::kNull:
      case Tag::kTimestamp: break;
    }
    Scalar s = ResolvePlain(text, /*timestamps=*/tag == Tag::kTimestamp);
    using K = Scalar::Kind;
    bool fits = (tag == Tag::kBool && s.kind == K::kBool) ||
                (tag == Tag::kInt && (s.kind == K::kInt || s.kind == K::kUint)) ||
                (tag == Tag::kFloat && (s.kind == K::kFloat || s.kind == K::kInt)) ||
                (tag == Tag::kNull && s.kind == K::kNull) || (tag == Tag::kTimestamp && s.kind == K::kTimestamp);
    if (!fits) {
      static constexpr const char* kNames[] = {"", "", "!!bool", "!!int", "!!float", "!!null", "!!timestamp"};
      return Fail(
          node, "cannot read " + std::string(KindName(s.kind)) + " `" + text + "` as " + kNames[static_cast<int>(tag)]);
    }
    if (tag == Tag::kFloat && s.kind == K::kInt) s = Scalar{.kind = K::kFloat, .f = static_cast<double>(s.i)};
    return s;
  }

  StatusOr<Scalar> Checked(const YAML::Node& node, Scalar s) {
    if (auto bad = FirstInvalidUtf8(s.text)) {
      return Fail(node, "the text is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
    }
    return s;
  }

  StatusOr<Json> ScalarJson(const YAML::Node& node, const Scalar& s) {
    switch (s.kind) {
      case Scalar::Kind::kNull: return Json(nullptr);
      case Scalar::Kind::kBool: return Json(s.boolean);
      // nlohmann::json reads a non-negative integer as unsigned: so do we.
      case Scalar::Kind::kInt: return s.i >= 0 ? Json(static_cast<uint64_t>(s.i)) : Json(s.i);
      case Scalar::Kind::kUint: return Json(s.u);
      case Scalar::Kind::kFloat:
        if (!std::isfinite(s.f)) return Fail(node, "JSON has no form for .inf or .nan");
        return GoJsonFloat(s.f);
      case Scalar::Kind::kString:
      case Scalar::Kind::kTimestamp: break;
    }
    return Json(s.text);
  }

  const YamlLimits limits_;
  std::vector<std::string> path_;
  int depth_ = 0;
  std::vector<YAML::Node> open_;  // the collections being converted, outermost first
  size_t values_ = 0;
  size_t bytes_ = 0;
};

std::string Where(const YAML::Mark& mark) {
  if (mark.is_null()) return "";
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) + ": ";
}

// yaml-cpp 0.7 never consumes a ',' where a document's node should start (",",
// "- a\n,"): LoadAll then produces empty documents forever, holding each, until
// memory runs out. This pass sees the stream's events without building anything and
// stops when a document starts where the previous one did.
class DocumentProgress : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents_++ > 0 && mark.pos <= last_start_) {
      throw YAML::ParserException(mark, "unexpected ',' outside a flow collection");
    }
    last_start_ = mark.pos;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  size_t documents_ = 0;
  int last_start_ = -1;
};

void CheckDocumentsProgress(const std::string& yaml) {
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  DocumentProgress progress;
  while (parser.HandleNextDocument(progress)) {
  }
}

StatusOr<std::vector<Json>> Convert(std::string_view yaml, const YamlLimits& limits, bool keep_null) {
  if (auto bad = FirstInvalidUtf8(yaml)) {
    return InvalidArgumentError("YAML is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
  }
  try {
    const std::string text(yaml);
    CheckDocumentsProgress(text);
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    Converter converter(limits);
    std::vector<Json> out;
    for (const YAML::Node& doc : docs) {
      StatusOr<Json> j = converter.Document(doc);
      if (!j.ok()) return j.status();
      if (keep_null || !j->is_null()) out.push_back(std::move(*j));
    }
    return out;
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("YAML " + Where(e.mark) + e.msg);
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("YAML to JSON: ") + e.what());
  }
}

}  // namespace

StatusOr<Json> YamlToJson(std::string_view yaml, const YamlLimits& limits) {
  StatusOr<std::vector<Json>> docs = Convert(yaml, limits, /*keep_null=*/true);
  if (!docs.ok()) return docs.status();
  if (docs->empty()) return Json(nullptr);
  if (docs->size() > 1) {
    return InvalidArgumentError("YAML holds " + std::to_string(docs->size()) + " documents where one was expected");
  }
  return std::move(docs->front());
}

StatusOr<std::vector<Json>> YamlDocumentsToJson(std::string_view yaml, const YamlLimits& limits) {
  return Convert(yaml, limits, /*keep_null=*/false);
}

}  // namespace gotestrun::api
