#include "core/diagnosis/gotest/text_forms.h"

#include <charconv>

namespace gotestrun::gotest {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "0.012s" at the start of `text` (followed by the end, a tab or a space).
std::optional<double> LeadingSeconds(std::string_view text) {
  const std::size_t end = text.find_first_of("\t ");
  std::string_view word = text.substr(0, end);
  if (word.size() < 2 || word.back() != 's') return std::nullopt;
  word.remove_suffix(1);
  double seconds = 0;
  const auto [ptr, ec] = std::from_chars(word.data(), word.data() + word.size(), seconds);
  if (ec != std::errc() || ptr != word.data() + word.size()) return std::nullopt;
  return seconds;
}

bool IsPackageName(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (c == ' ' || c == '\t') return false;
  }
  return true;
}

// "p" or "p [p.test]".
bool IsPackageId(std::string_view id) {
  const std::size_t space = id.find(' ');
  if (space == std::string_view::npos) return IsPackageName(id);
  const std::string_view variant = id.substr(space + 1);
  return IsPackageName(id.substr(0, space)) && variant.size() > 2 && variant.front() == '[' && variant.back() == ']' &&
         IsPackageName(variant.substr(1, variant.size() - 2));
}

TextLine ClassifyResultLine(std::string_view line) {
  TextLine result;
  if (line.starts_with("ok  \t")) {
    std::string_view rest = line.substr(5);
    const std::size_t tab = rest.find('\t');
    result.package = rest.substr(0, tab);
    if (!IsPackageName(result.package)) return {};
    result.kind = TextLineKind::kPackagePass;
    if (tab != std::string_view::npos) result.seconds = LeadingSeconds(rest.substr(tab + 1));
    return result;
  }
  if (line.starts_with("?   \t")) {
    std::string_view rest = line.substr(5);
    const std::size_t tab = rest.find('\t');
    if (tab == std::string_view::npos || !rest.substr(tab + 1).starts_with("[no test files]")) return {};
    result.package = rest.substr(0, tab);
    if (!IsPackageName(result.package)) return {};
    result.kind = TextLineKind::kPackageNoTestFiles;
    return result;
  }
  if (line.starts_with("FAIL\t")) {
    std::string_view rest = line.substr(5);
    const std::size_t end = rest.find_first_of("\t ");
    result.package = rest.substr(0, end);
    if (!IsPackageName(result.package)) return {};
    if (end == std::string_view::npos) {
      result.kind = TextLineKind::kPackageFail;
      return result;
    }
    const std::string_view tail = rest.substr(end);
    if (tail == " [build failed]") {
      result.kind = TextLineKind::kPackageBuildFailed;
    } else if (tail == " [setup failed]") {
      result.kind = TextLineKind::kPackageSetupFailed;
    } else if (tail[0] == '\t') {
      result.kind = TextLineKind::kPackageFail;
      result.seconds = LeadingSeconds(tail.substr(1));
    } else {
      return {};
    }
    return result;
  }
  return {};
}

}  // namespace

TextLine ClassifyTextLine(std::string_view line) {
  TextLine result = ClassifyResultLine(line);
  if (result.kind != TextLineKind::kOther) return result;

  if (line.starts_with("# ")) {
    const std::string_view id = line.substr(2);
    if (id.empty() || id[0] == ' ') return {};
    if (id[0] == '[' && id.back() == ']') {
      result.kind = TextLineKind::kVetHeader;
      result.package = id.substr(1, id.size() - 2);
    } else {
      result.kind = TextLineKind::kBuildHeader;
      result.package = id;
    }
    return result;
  }
  if (line.starts_with("signal: ")) {
    result.kind = TextLineKind::kProcessSignal;
    result.signal = line.substr(8);
    return result;
  }
  if (line.starts_with("panic: test timed out after ") ||
      (line.starts_with("*** Test killed") && line.find("ran too long") != std::string_view::npos)) {
    result.kind = TextLineKind::kTimeout;
    return result;
  }
  if (line.starts_with("panic: ")) {
    result.kind = TextLineKind::kPanic;
    return result;
  }
  // "<id>: <path to tool>: signal: <name>"; go names the program it started, which
  // is a -toolexec wrapper when there is one.
  if (const std::size_t at = line.rfind(": signal: "); at != std::string_view::npos) {
    const std::string_view command = line.substr(0, at);
    const std::size_t colon = command.find(": ");
    if (colon == std::string_view::npos || colon == 0) return {};
    const std::string_view id = command.substr(0, colon);
    const std::string_view program = command.substr(colon + 2);
    if (!IsPackageId(id) || program.empty() || program.find_first_of(" \t") != std::string_view::npos) {
      return {};
    }
    const std::size_t slash = program.find_last_of("/\\");
    result.kind = TextLineKind::kBuildStepSignal;
    result.package = id;
    result.tool = slash == std::string_view::npos ? program : program.substr(slash + 1);
    result.signal = line.substr(at + 10);
    return result;
  }
  return result;
}

std::optional<std::string_view> GluedProcessSignal(std::string_view line) {
  const std::size_t at = line.rfind("signal: ");
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  const std::string_view name = line.substr(at + 8);
  if (name.empty()) return std::nullopt;
  return name;
}

BuildPhase PhaseOfTool(std::string_view tool) {
  // On Windows the tools end in ".exe".
  if (tool.ends_with(".exe")) tool.remove_suffix(4);
  if (tool == "compile") return BuildPhase::kCompile;
  if (tool == "link") return BuildPhase::kLink;
  if (tool == "vet") return BuildPhase::kVet;
  return BuildPhase::kUnknown;
}

bool IsGoSourcePosition(std::string_view line) {
  const std::size_t go = line.find(".go:");
  if (go == std::string_view::npos || go == 0) return false;
  if (line.substr(0, go).find_first_of(" \t") != std::string_view::npos) return false;
  std::string_view rest = line.substr(go + 4);
  auto skip_number = [&rest]() {
    std::size_t n = 0;
    while (n < rest.size() && IsDigit(rest[n])) ++n;
    rest.remove_prefix(n);
    return n > 0;
  };
  if (!skip_number()) return false;
  if (rest.starts_with(":") && rest.size() > 1 && IsDigit(rest[1])) {
    rest.remove_prefix(1);
    skip_number();
  }
  return rest.starts_with(": ");
}

bool IsLinkerMessage(std::string_view line) {
  if (line.starts_with("link: ")) return true;
  const std::size_t at = line.find("/link: ");
  return at != std::string_view::npos && line.substr(0, at).find(' ') == std::string_view::npos;
}

bool BuildBelongsToPackage(std::string_view import_path, std::string_view package) {
  if (package.empty() || !import_path.starts_with(package)) return false;
  const std::string_view rest = import_path.substr(package.size());
  return rest.empty() || rest == ".test" || rest.starts_with(" [") || rest.starts_with("_test [");
}

}  // namespace gotestrun::gotest
