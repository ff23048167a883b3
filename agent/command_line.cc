#include "agent/command_line.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

namespace gotestrun::agent {
namespace {

// Each option takes one value; the setter checks it.
using Setter = std::function<Status(const std::string& value)>;

// Parses "--name value" / "--name=value" options. With stop_at_positional the first
// positional argument ends the options (exec: the test binary's own flags follow).
Status ParseOptions(std::span<const std::string> args, const std::map<std::string, Setter, std::less<>>& options,
                    std::vector<std::string>& positional, bool stop_at_positional) {
  bool options_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_ended || !arg.starts_with("--") || arg == "--") {
      if (!options_ended && arg == "--") {
        options_ended = true;
        continue;
      }
      if (!options_ended && arg.starts_with("-") && arg != "-" && !stop_at_positional) {
        return InvalidArgumentError("unknown option " + arg + " (options are spelled --name)");
      }
      positional.push_back(arg);
      if (stop_at_positional) options_ended = true;
      continue;
    }
    const std::size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const auto it = options.find(name);
    if (it == options.end()) return InvalidArgumentError("unknown option --" + name);
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return InvalidArgumentError("option --" + name + " needs a value");
    }
    if (Status s = it->second(value); !s.ok()) return s.Annotate("--" + name);
  }
  return Status::Ok();
}

Setter String(std::string& target) {
  return [&target](const std::string& value) {
    if (value.empty()) return InvalidArgumentError("empty value");
    target = value;
    return Status::Ok();
  };
}

Setter PositiveInt(std::optional<int>& target) {
  return [&target](const std::string& value) {
    int n = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || ptr != value.data() + value.size() || n < 1) {
      return InvalidArgumentError("want a positive number, got \"" + value + "\"");
    }
    target = n;
    return Status::Ok();
  };
}

Status Require(const std::string& value, std::string_view option) {
  if (value.empty()) return InvalidArgumentError(std::string(option) + " is required");
  return Status::Ok();
}

}  // namespace

StatusOr<std::uint64_t> ParseByteSize(std::string_view text) {
  const std::string original(text);
  std::size_t n = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') ++n;
  std::uint64_t number = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + n, number);
  if (n == 0 || ec != std::errc()) return InvalidArgumentError("bad byte size \"" + original + "\"");
  static const std::map<std::string, int, std::less<>> kShifts{
      {"", 0},     {"B", 0},   {"KiB", 10}, {"MiB", 20}, {"GiB", 30},
      {"TiB", 40}, {"Ki", 10}, {"Mi", 20},  {"Gi", 30},  {"Ti", 40},
  };
  const auto shift = kShifts.find(text.substr(n));
  if (shift == kShifts.end()) return InvalidArgumentError("byte size \"" + original + "\": unknown unit");
  if (shift->second > 0 && number > (std::numeric_limits<std::uint64_t>::max() >> shift->second)) {
    return InvalidArgumentError("byte size \"" + original + "\" is too large");
  }
  return number << shift->second;
}

StatusOr<InstallOptions> ParseInstallArgs(std::span<const std::string> args) {
  std::vector<std::string> positional;
  GTR_RETURN_IF_ERROR(ParseOptions(args, {}, positional, false));
  if (positional.size() != 1) return InvalidArgumentError("install takes one argument: DEST");
  return InstallOptions{.dest = positional[0]};
}

StatusOr<ListOptions> ParseListArgs(std::span<const std::string> args) {
  ListOptions o;
  const std::map<std::string, Setter, std::less<>> options{
      {"module-dir", String(o.module_dir)}, {"tags", String(o.tags)}, {"out", String(o.out)}};
  GTR_RETURN_IF_ERROR(ParseOptions(args, options, o.patterns, false));
  GTR_RETURN_IF_ERROR(Require(o.module_dir, "--module-dir"));
  return o;
}

StatusOr<RunOptions> ParseRunArgs(std::span<const std::string> args) {
  RunOptions o;
  std::map<std::string, Setter, std::less<>> options{
      {"dir", String(o.attempt_dir)},
      {"module-dir", String(o.module_dir)},
      {"parallel", PositiveInt(o.parallel)},
      {"p", PositiveInt(o.p)},
      {"tags", String(o.tags)},
      {"gomemlimit",
       [&o](const std::string& v) -> Status {
         StatusOr<std::uint64_t> bytes = ParseByteSize(v);
         if (!bytes.ok()) return bytes.status();
         if (*bytes == 0) return InvalidArgumentError("GOMEMLIMIT of 0 bytes");
         o.gomemlimit_bytes = *bytes;
         return Status::Ok();
       }},
      {"heap-interval",
       [&o](const std::string& v) -> Status {
         StatusOr<std::chrono::nanoseconds> d = ParseGoDuration(v);
         if (!d.ok()) return d.status();
         if (*d < std::chrono::milliseconds(10)) return InvalidArgumentError("heap interval below 10ms");
         o.heap_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
         return Status::Ok();
       }},
      {"memory-stall-after",
       [&o](const std::string& v) -> Status {
         StatusOr<std::chrono::nanoseconds> d = ParseGoDuration(v);
         if (!d.ok()) return d.status();
         // Below a second a few 200 ms samples would decide; 0 is off.
         if (*d < std::chrono::seconds(1) && d->count() != 0)
           return InvalidArgumentError("memory stall after below 1s");
         o.memory_stall_after = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
         return Status::Ok();
       }},
      {"timeout",
       [&o](const std::string& v) -> Status {
         StatusOr<std::chrono::nanoseconds> d = ParseGoDuration(v);
         if (!d.ok()) return d.status();
         o.timeout = v;
         return Status::Ok();
       }},
      {"flag",
       [&o](const std::string& v) -> Status {
         if (v.empty()) return InvalidArgumentError("empty flag");
         o.flags.push_back(v);
         return Status::Ok();
       }},
  };
  GTR_RETURN_IF_ERROR(ParseOptions(args, options, o.packages, false));
  GTR_RETURN_IF_ERROR(Require(o.attempt_dir, "--dir"));
  GTR_RETURN_IF_ERROR(Require(o.module_dir, "--module-dir"));
  if (o.packages.empty()) return InvalidArgumentError("run needs at least one package pattern");
  return o;
}

StatusOr<ExecOptions> ParseExecArgs(std::span<const std::string> args) {
  ExecOptions o;
  GTR_RETURN_IF_ERROR(ParseOptions(args, {{"dir", String(o.attempt_dir)}}, o.argv, true));
  GTR_RETURN_IF_ERROR(Require(o.attempt_dir, "--dir"));
  if (o.argv.empty()) return InvalidArgumentError("exec needs the test binary to run");
  return o;
}

StatusOr<ExecOptions> ParseToolexecArgs(std::span<const std::string> args) {
  ExecOptions o;
  GTR_RETURN_IF_ERROR(ParseOptions(args, {{"dir", String(o.attempt_dir)}}, o.argv, true));
  GTR_RETURN_IF_ERROR(Require(o.attempt_dir, "--dir"));
  if (o.argv.empty()) return InvalidArgumentError("toolexec needs the go tool to run");
  return o;
}

}  // namespace gotestrun::agent
