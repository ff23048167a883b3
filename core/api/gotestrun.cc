#include "core/api/gotestrun.h"

#include <cmath>
#include <set>

#include "base/go_duration.h"
#include "core/api/crd_text.h"
#include "core/api/schema.h"
#include "core/api/yaml_json.h"
#include "core/policy/quantity.h"

namespace gotestrun::api {
namespace {

Status Bad(const std::string& field, const std::string& problem) {
  return InvalidArgumentError("spec." + field + ": " + problem);
}

const Json& At(const Json& j, const char* key) {
  static const Json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

StatusOr<std::string> String(const Json& j, const char* key, const std::string& field, bool required = false) {
  const Json& v = At(j, key);
  if (v.is_null()) {
    if (required) return Bad(field, "required");
    return std::string();
  }
  if (!v.is_string()) return Bad(field, "must be a string");
  if (required && v.get_ref<const std::string&>().empty()) return Bad(field, "must not be empty");
  return v.get<std::string>();
}

StatusOr<std::optional<int>> Int(const Json& j, const char* key, const std::string& field, int min, int max) {
  const Json& v = At(j, key);
  if (v.is_null()) return std::optional<int>();
  if (!v.is_number_integer()) return Bad(field, "must be an integer");
  long long n = v.get<long long>();
  if (n < min || n > max) return Bad(field, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return std::optional<int>(static_cast<int>(n));
}

StatusOr<std::vector<std::string>> Strings(const Json& j, const char* key, const std::string& field, size_t max) {
  const Json& v = At(j, key);
  std::vector<std::string> out;
  if (v.is_null()) return out;
  if (!v.is_array()) return Bad(field, "must be a list of strings");
  if (v.size() > max) return Bad(field, "at most " + std::to_string(max) + " items");
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get_ref<const std::string&>().empty()) {
      return Bad(field + "[" + std::to_string(i) + "]", "must be a non-empty string");
    }
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

StatusOr<policy::Bytes> Quantity(const Json& j, const char* key, const std::string& field, bool required,
                                 policy::Bytes fallback = 0) {
  const Json& v = At(j, key);
  if (v.is_null()) {
    if (required) return Bad(field, "required, e.g. 512Mi");
    return fallback;
  }
  std::string text = v.is_string()           ? v.get<std::string>()
                     : v.is_number_integer() ? std::to_string(v.get<long long>())
                                             : "";
  if (text.empty()) return Bad(field, "must be a quantity such as 512Mi or 2Gi");
  StatusOr<policy::Bytes> b = policy::ParseMemoryQuantity(text);
  if (!b.ok()) return Bad(field, "'" + text + "' is not a quantity such as 512Mi or 2Gi");
  if (*b == 0) return Bad(field, "must be more than zero, e.g. 512Mi");
  return *b;
}

bool ValidEnvName(const std::string& n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// The most CPU a run may ask for: 1024 cores. Past what any node has, and a
// GOMAXPROCS that large makes every Go process (go list included) crawl.
constexpr std::uint64_t kMaxCpuMillis = 1024 * 1000;

}  // namespace

const Json& SpecSchema() {
  static const Json schema = [] {
    StatusOr<Json> crd = YamlToJson(kCrdYaml);
    Json spec;
    if (crd.ok()) {
      for (const Json& version : (*crd)["spec"]["versions"]) {
        if (version.value("name", "") == kVersion) spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"];
      }
    }
    return spec;
  }();
  return schema;
}

// Where a flag's name ends when the flag and its value are one argument.
constexpr std::string_view kNameEnd = "= \t\n\v\f\r";
constexpr std::string_view kBlanks = " \t\n\v\f\r";

std::string_view FlagName(std::string_view flag) {
  if (flag.size() < 2 || flag[0] != '-') return {};
  std::string_view name = flag.substr(flag[1] == '-' ? 2 : 1);
  name = name.substr(0, name.find_first_of(kNameEnd));
  if (name.starts_with("test.")) name.remove_prefix(5);
  return name;
}

std::optional<std::string_view> FlagInlineValue(std::string_view flag) {
  if (FlagName(flag).empty()) return std::nullopt;
  const std::size_t end = flag.find_first_of(kNameEnd);
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view value = flag.substr(end + 1);
  value.remove_prefix(std::min(value.size(), value.find_first_not_of(kBlanks)));
  return value;
}

std::optional<std::string> OwnedFlag(std::string_view flag) {
  // timeout and tags have fields of their own (goTest.timeout, goTest.tags).
  static const std::set<std::string, std::less<>> kOwned = {"parallel", "p", "json", "exec",    "overlay", "vet",
                                                            "toolexec", "o", "c",    "timeout", "tags"};
  const std::string_view name = FlagName(flag);
  if (!name.empty() && kOwned.contains(name)) return "-" + std::string(name);
  return std::nullopt;
}

std::vector<std::string> GoFlagsWords(std::string_view value) {
  std::vector<std::string> words;
  for (size_t at = 0; (at = value.find_first_not_of(kBlanks, at)) != std::string_view::npos;) {
    const size_t end = value.find_first_of(kBlanks, at);
    words.emplace_back(value.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    at = end;
  }
  return words;
}

StatusOr<std::chrono::milliseconds> ParseGoDuration(std::string_view text) {
  StatusOr<std::chrono::nanoseconds> d = gotestrun::ParseGoDuration(text);
  if (!d.ok()) {
    if (text.empty()) return InvalidArgumentError("empty duration");
    return InvalidArgumentError("'" + std::string(text) + "' is not a duration such as 20m or 1h30m");
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

StatusOr<GoTestRunSpec> ParseSpec(const Json& spec) {
  if (!spec.is_object()) return InvalidArgumentError("spec: must be an object");
  GoTestRunSpec s;

  const Json& source = At(spec, "source");
  if (!source.is_object()) return Bad("source", "required: give source.volume or source.git");
  bool has_volume = source.contains("volume"), has_git = source.contains("git");
  if (has_volume == has_git) return Bad("source", "give exactly one of source.volume and source.git");
  if (has_volume) {
    auto claim = String(source["volume"], "claimName", "source.volume.claimName", true);
    if (!claim.ok()) return claim.status();
    s.volume_claim = *claim;
    auto sub = String(source["volume"], "subPath", "source.volume.subPath");
    if (!sub.ok()) return sub.status();
    if (sub->starts_with("/") || *sub == ".." || sub->starts_with("../") || sub->ends_with("/..") ||
        sub->find("/../") != std::string::npos) {
      return Bad("source.volume.subPath", "must be a relative path inside the volume, without '..'");
    }
    s.volume_sub_path = *sub;
  } else {
    auto url = String(source["git"], "url", "source.git.url", true);
    if (!url.ok()) return url.status();
    // git parses an argument that starts with '-' as an option (--upload-pack=...),
    // whatever the quoting: refused here, and the clone also passes them after '--'.
    if (url->starts_with("-"))
      return Bad("source.git.url", "must not start with '-', which git would read as an option");
    s.git_url = *url;
    auto rev = String(source["git"], "revision", "source.git.revision");
    if (!rev.ok()) return rev.status();
    if (rev->starts_with("-")) {
      return Bad("source.git.revision", "must not start with '-', which git would read as an option");
    }
    s.git_revision = rev->empty() ? "HEAD" : *rev;
  }
  auto module_dir = String(source, "moduleDir", "source.moduleDir");
  if (!module_dir.ok()) return module_dir.status();
  if (!module_dir->empty()) s.module_dir = *module_dir;
  if (s.module_dir.find("..") != std::string::npos || s.module_dir.front() == '/') {
    return Bad("source.moduleDir", "must be a relative path inside the source, without '..'");
  }

  auto image = String(spec, "image", "image", true);
  if (!image.ok()) return image.status();
  s.image = *image;

  auto packages = Strings(spec, "packages", "packages", 256);
  if (!packages.ok()) return packages.status();
  if (!packages->empty()) s.packages = *packages;
  for (size_t i = 0; i < s.packages.size(); ++i) {
    if (s.packages[i].starts_with("-")) {
      return Bad("packages[" + std::to_string(i) + "]",
                 "\"" + s.packages[i] + "\" is a flag, not a package pattern: flags go in spec.goTest.flags");
    }
  }

  const Json& go = At(spec, "goTest");
  auto flags = Strings(go, "flags", "goTest.flags", 64);
  if (!flags.ok()) return flags.status();
  for (const std::string& f : *flags) {
    if (auto owned = OwnedFlag(f)) {
      return Bad(
          "goTest.flags",
          "'" + f + "': " + *owned +
              " is set by the operator; use goTest.parallel, goTest.p, goTest.timeout or goTest.tags, or drop it");
    }
  }
  s.flags = *flags;
  auto tags = Strings(go, "tags", "goTest.tags", 64);
  if (!tags.ok()) return tags.status();
  s.tags = *tags;
  auto parallel = Int(go, "parallel", "goTest.parallel", 1, 1024);
  if (!parallel.ok()) return parallel.status();
  auto p = Int(go, "p", "goTest.p", 1, 256);
  if (!p.ok()) return p.status();
  auto timeout = String(go, "timeout", "goTest.timeout");
  if (!timeout.ok()) return timeout.status();
  if (!timeout->empty() && !ParseGoDuration(*timeout).ok()) {
    return Bad("goTest.timeout", "'" + *timeout + "' is not a Go duration such as 20m or 1h30m");
  }
  s.timeout = *timeout;
  const Json& env = At(go, "env");
  if (!env.is_null() && !env.is_array()) return Bad("goTest.env", "must be a list of {name, value}");
  if (env.is_array()) {
    for (size_t i = 0; i < env.size(); ++i) {
      std::string field = "goTest.env[" + std::to_string(i) + "]";
      auto name = String(env[i], "name", field + ".name", true);
      if (!name.ok()) return name.status();
      if (!ValidEnvName(*name)) return Bad(field + ".name", "'" + *name + "' is not a valid environment variable name");
      if (*name == "GOMEMLIMIT" || *name == "GODEBUG") {
        return Bad(field + ".name", *name + " is set by the operator per test binary");
      }
      // GOENV names a file of go settings, GOFLAGS among them, that nothing here sees.
      if (*name == "GOENV") return Bad(field + ".name", "GOENV is not allowed: set GOFLAGS or goTest.flags instead");
      auto value = String(env[i], "value", field + ".value");
      if (!value.ok()) return value.status();
      // go reads GOFLAGS as flags of its own command line: the same ones are owned.
      if (*name == "GOFLAGS") {
        for (const std::string& word : GoFlagsWords(*value)) {
          if (auto owned = OwnedFlag(word)) {
            return Bad(field + ".value", "GOFLAGS holds '" + word + "': " + *owned + " is set by the operator");
          }
        }
      }
      s.env.push_back({*name, *value});
    }
  }

  const Json& res = At(spec, "resources");
  if (!res.is_object()) return Bad("resources", "required: give resources.memory and resources.maxMemory");
  auto memory = Quantity(res, "memory", "resources.memory", true);
  if (!memory.ok()) return memory.status();
  auto max_memory = Quantity(res, "maxMemory", "resources.maxMemory", true);
  if (!max_memory.ok()) return max_memory.status();
  if (*memory > *max_memory) return Bad("resources.memory", "must not be more than resources.maxMemory");
  if (!At(res, "cpu").is_null()) {
    std::string cpu = At(res, "cpu").is_string()   ? res["cpu"].get<std::string>()
                      : At(res, "cpu").is_number() ? At(res, "cpu").dump()
                                                   : "";
    auto millis = policy::ParseCpuMillis(cpu);
    if (!millis.ok()) return Bad("resources.cpu", "'" + cpu + "' is not a CPU quantity such as 2 or 500m");
    if (*millis == 0) return Bad("resources.cpu", "must be more than 0");
    if (*millis > kMaxCpuMillis) return Bad("resources.cpu", "'" + cpu + "' is more than 1024 cores");
    s.cpu = cpu;
    s.policy.cpu_millis = *millis;
  }
  s.policy.memory = *memory;
  s.policy.max_memory = *max_memory;
  s.policy.parallel = *parallel;
  s.policy.p = *p;

  const Json& sharding = At(spec, "sharding");
  auto shards = Int(sharding, "shards", "sharding.shards", 1, 256);
  if (!shards.ok()) return shards.status();
  auto max_shards = Int(sharding, "maxShards", "sharding.maxShards", 1, 256);
  if (!max_shards.ok()) return max_shards.status();
  s.policy.shards = shards->value_or(1);
  // The CRD's default, whatever shards says: more shards than 32 need maxShards too.
  s.policy.max_shards = max_shards->value_or(32);
  if (s.policy.max_shards < s.policy.shards) {
    return Bad("sharding.maxShards",
               std::string("must be at least sharding.shards") + (*max_shards ? "" : " (maxShards is 32 unless set)"));
  }

  const Json& retry = At(spec, "retry");
  auto attempts = Int(retry, "maxAttempts", "retry.maxAttempts", 1, 20);
  if (!attempts.ok()) return attempts.status();
  s.policy.max_attempts = attempts->value_or(4);
  const Json& ratio = At(retry, "memoryBumpRatio");
  s.policy.memory_bump_ratio = 1.5;
  if (!ratio.is_null()) {
    std::string text = ratio.is_string() ? ratio.get<std::string>() : ratio.is_number() ? ratio.dump() : "";
    char* end = nullptr;
    double r = std::strtod(text.c_str(), &end);
    if (text.empty() || end == nullptr || *end != '\0' || !std::isfinite(r) || r <= 1.0 || r > 8.0) {
      return Bad("retry.memoryBumpRatio", "'" + text + "' must be a number above 1 and at most 8, e.g. \"1.5\"");
    }
    s.policy.memory_bump_ratio = r;
  }
  auto bump = Quantity(retry, "minMemoryBump", "retry.minMemoryBump", false, 128ull << 20);
  if (!bump.ok()) return bump.status();
  s.policy.min_memory_bump = *bump;

  const Json& prof = At(spec, "profiling");
  if (At(prof, "enabled").is_boolean()) s.profiling = prof["enabled"].get<bool>();
  auto interval = String(prof, "heapInterval", "profiling.heapInterval");
  if (!interval.ok()) return interval.status();
  if (!interval->empty()) {
    auto d = ParseGoDuration(*interval);
    if (!d.ok() || *d < std::chrono::milliseconds(100) || *d > std::chrono::minutes(1)) {
      return Bad("profiling.heapInterval", "'" + *interval + "' must be a duration from 100ms to 1m");
    }
    s.heap_interval = *d;
  }
  auto claim = String(prof, "claimName", "profiling.claimName");
  if (!claim.ok()) return claim.status();
  if (!claim->empty()) s.profiles_claim = *claim;

  const Json& gate = At(spec, "memoryGate");
  auto growth = Int(gate, "growthThresholdPercent", "memoryGate.growthThresholdPercent", 1, 1000);
  if (!growth.ok()) return growth.status();
  s.growth_threshold_percent = growth->value_or(25);
  if (At(gate, "failOnGrowth").is_boolean()) s.fail_on_growth = gate["failOnGrowth"].get<bool>();

  const Json& stall = At(spec, "memoryStall");
  if (At(stall, "enabled").is_boolean()) s.memory_stall_enabled = stall["enabled"].get<bool>();
  auto stall_after = String(stall, "after", "memoryStall.after");
  if (!stall_after.ok()) return stall_after.status();
  if (!stall_after->empty()) {
    auto d = ParseGoDuration(*stall_after);
    if (!d.ok() || *d < kMinMemoryStallAfter || *d > kMaxMemoryStallAfter) {
      return Bad("memoryStall.after", "'" + *stall_after + "' must be a duration from 2s to 10m");
    }
    s.memory_stall_after = *d;
  }

  GTR_RETURN_IF_ERROR(policy::ValidateRunPolicy(s.policy).Annotate("spec"));
  // Then every OpenAPI rule of the CRD (unknown fields, lengths, patterns), so that
  // nothing the API server would refuse passes here. The checks above come first for
  // their more helpful words on the fields they read.
  if (!SpecSchema().is_object()) return InternalError("the built-in CRD has no schema for " + std::string(kVersion));
  GTR_RETURN_IF_ERROR(CheckSchema(SpecSchema(), spec, "spec"));
  return s;
}

}  // namespace gotestrun::api
