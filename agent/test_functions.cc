#include "agent/test_functions.h"

#include <cctype>

#include "base/files.h"

namespace gotestrun::agent {
namespace {

bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

bool IsIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])) != 0) return false;
  for (char c : s) {
    if (!IsIdentChar(c)) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

// go's isTest: the prefix alone, or followed by anything but a lower-case letter.
bool HasTestName(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) != prefix) return false;
  return name.size() == prefix.size() || std::islower(static_cast<unsigned char>(name[prefix.size()])) == 0;
}

// `import t "testing"`, or `t "testing"` in an import block, with t neither testing
// nor _ (a dot import counts: its tests would read `*T`).
bool ImportsTestingUnderAnotherName(std::string_view line) {
  line = Trim(line);
  const std::size_t at = line.find("\"testing\"");
  if (at == std::string_view::npos) return false;
  std::string_view after = Trim(line.substr(at + 9));
  if (!after.empty() && after.substr(0, 2) != "//") return false;
  std::string_view before = Trim(line.substr(0, at));
  if (before.substr(0, 6) == "import") before = Trim(before.substr(6));
  if (before.empty() || before == "testing" || before == "_") return false;
  return before == "." || IsIdentifier(before);
}

enum class Kind { kNone, kTest, kExample };

// The declaration starting at `decl` (a line beginning "func "): a test or fuzz target
// with the right parameter, an example with none, or neither.
Kind Classify(std::string_view decl) {
  decl.remove_prefix(5);
  std::size_t n = 0;
  while (n < decl.size() && IsIdentChar(decl[n])) ++n;
  const std::string_view name = decl.substr(0, n);
  if (name.empty() || n >= decl.size() || decl[n] != '(') return Kind::kNone;  // a method, or generic
  const std::size_t close = decl.find(')', n);
  if (close == std::string_view::npos) return Kind::kNone;
  std::string params;
  for (char c : decl.substr(n + 1, close - n - 1)) {
    if (std::isspace(static_cast<unsigned char>(c)) == 0) params += c;
  }
  if (!params.empty() && params.back() == ',') params.pop_back();  // gofmt's trailing comma
  auto takes = [&](std::string_view type) {
    if (params.size() < type.size() || params.compare(params.size() - type.size(), type.size(), type) != 0) {
      return false;
    }
    const std::string_view param_name = std::string_view(params).substr(0, params.size() - type.size());
    return param_name.empty() || IsIdentifier(param_name);
  };
  if ((HasTestName(name, "Test") && takes("*testing.T")) || (HasTestName(name, "Fuzz") && takes("*testing.F"))) {
    return Kind::kTest;
  }
  if (HasTestName(name, "Example") && params.empty()) return Kind::kExample;
  return Kind::kNone;
}

// go/doc's output comment: "Output:" or "Unordered output:", in any case.
bool IsOutputComment(std::string_view text) {
  text = Trim(text);
  std::string lower;
  for (char c : text.substr(0, 17)) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.rfind("output:", 0) == 0 || lower.rfind("unordered output:", 0) == 0;
}

}  // namespace

std::optional<int> CountTopLevelTests(std::string_view source) {
  int count = 0;
  bool in_example = false, example_has_output = false;
  // Lexical state, so that a "func Test..." inside a raw string (a code generator's
  // test input) or a comment is not taken for a declaration.
  bool in_raw = false, in_block_comment = false;
  std::size_t i = 0;
  bool line_start = true;
  while (i < source.size()) {
    if (line_start && !in_raw && !in_block_comment) {
      line_start = false;
      const std::size_t eol = source.find('\n', i);
      const std::string_view line = source.substr(i, eol == std::string_view::npos ? source.size() - i : eol - i);
      if (ImportsTestingUnderAnotherName(line)) return std::nullopt;
      if (in_example && line.substr(0, 1) == "}") {
        count += example_has_output ? 1 : 0;
        in_example = false;
      }
      if (line.substr(0, 5) == "func ") {
        // A signature spread over lines ends within a few.
        std::size_t end = i;
        for (int lines = 0; lines < 4 && end != std::string_view::npos; ++lines) {
          end = source.find('\n', end + 1);
        }
        const Kind kind = Classify(source.substr(i, end == std::string_view::npos ? source.size() - i : end - i));
        if (kind == Kind::kTest) ++count;
        if (kind == Kind::kExample) {
          in_example = true;
          example_has_output = false;
        }
      }
    }
    const char c = source[i];
    if (c == '\n') {
      line_start = true;
      ++i;
      continue;
    }
    if (in_raw) {
      in_raw = c != '`';
      ++i;
      continue;
    }
    if (in_block_comment) {
      if (c == '*' && i + 1 < source.size() && source[i + 1] == '/') {
        in_block_comment = false;
        ++i;
      }
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < source.size() && source[i + 1] == '/') {
      const std::size_t eol = source.find('\n', i);
      const std::string_view text =
          source.substr(i + 2, eol == std::string_view::npos ? std::string_view::npos : eol - i - 2);
      if (in_example && IsOutputComment(text)) example_has_output = true;
      i = eol == std::string_view::npos ? source.size() : eol;
      continue;
    }
    if (c == '/' && i + 1 < source.size() && source[i + 1] == '*') {
      in_block_comment = true;
      i += 2;
      continue;
    }
    if (c == '`') {
      in_raw = true;
      ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      // To the closing quote on the same line, past escapes.
      ++i;
      while (i < source.size() && source[i] != c && source[i] != '\n') i += source[i] == '\\' ? 2 : 1;
      if (i < source.size() && source[i] == c) ++i;
      continue;
    }
    ++i;
  }
  if (in_example && example_has_output) ++count;  // a file cut short
  return count;
}

std::optional<int> CountPackageTests(const std::string& dir, const std::vector<std::string>& files,
                                     std::size_t max_file_bytes) {
  int total = 0;
  for (const std::string& file : files) {
    StatusOr<std::string> text = ReadFile(dir + "/" + file, max_file_bytes);
    if (!text.ok()) return std::nullopt;
    std::optional<int> n = CountTopLevelTests(*text);
    if (!n) return std::nullopt;
    total += *n;
  }
  return total;
}

}  // namespace gotestrun::agent
