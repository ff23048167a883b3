#include "cli/run_spec.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <filesystem>
#include <thread>

#include "base/files.h"
#include "core/api/yaml_json.h"
#include "core/engine/describe.h"
#include "core/policy/quantity.h"

namespace gotestrun::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A number flag goes into the spec as an integer when it is one, else as the text, so
// that ParseSpec refuses it with the CRD's words ("must be an integer").
json IntOrText(const std::string& text) {
  long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && end == text.data() + text.size()) return n;
  return text;
}

struct FlagField {
  const char* flag;
  const char* field;  // as ParseSpec names it, after "spec."
  const std::optional<std::string> RunFlags::*value;
};

constexpr FlagField kFlagFields[] = {
    {"--memory", "resources.memory", &RunFlags::memory},
    {"--max-memory", "resources.maxMemory", &RunFlags::max_memory},
    {"--shards", "sharding.shards", &RunFlags::shards},
    {"--max-shards", "sharding.maxShards", &RunFlags::max_shards},
    {"--parallel", "goTest.parallel", &RunFlags::parallel},
    {"--p", "goTest.p", &RunFlags::p},
    {"--max-attempts", "retry.maxAttempts", &RunFlags::max_attempts},
    {"--memory-stall-after", "memoryStall.after", &RunFlags::memory_stall_after},
};

// Puts "a.b" = value into spec.
void SetField(json& spec, std::string_view dotted, json value) {
  json* at = &spec;
  size_t start = 0;
  for (;;) {
    size_t dot = dotted.find('.', start);
    std::string key(dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!at->is_object()) *at = json::object();
    if (dot == std::string_view::npos) {
      (*at)[key] = std::move(value);
      return;
    }
    at = &(*at)[key];
    start = dot + 1;
  }
}

// ParseSpec's error, with the flag that set the field in front of it.
Status ForFlag(const Status& s, const RunFlags& flags) {
  for (const FlagField& f : kFlagFields) {
    const std::optional<std::string>& v = flags.*(f.value);
    if (v && s.message().starts_with("spec." + std::string(f.field) + ":")) {
      return InvalidArgumentError(std::string(f.flag) + " " + *v + ": " + s.message());
    }
  }
  if (!flags.packages.empty() && s.message().starts_with("spec.packages")) {
    return InvalidArgumentError("packages: " + s.message());
  }
  return s;
}

std::string Absolute(const std::string& path, const std::string& cwd) {
  fs::path p(path);
  if (p.is_relative()) p = fs::path(cwd) / p;
  return p.lexically_normal().string();
}

std::string WithoutTrailingSlash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

StatusOr<std::string> ReadManifest(const std::string& file, std::istream& in) {
  if (file != "-") return ReadFile(file, kMaxManifestBytes);
  std::string text;
  std::vector<char> chunk(size_t{64} << 10);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxManifestBytes) {
      return InvalidArgumentError("the manifest on stdin is larger than " + std::to_string(kMaxManifestBytes >> 20) +
                                  " MiB");
    }
  }
  return text;
}

StatusOr<json> DecodeManifest(std::string_view yaml) {
  StatusOr<std::vector<json>> docs = api::YamlDocumentsToJson(yaml);
  if (!docs.ok()) return docs.status();
  if (docs->size() != 1) {
    return InvalidArgumentError("the manifest holds " + std::to_string(docs->size()) +
                                " documents; give one GoTestRun");
  }
  json& run = docs->front();
  if (!run.is_object()) return InvalidArgumentError("the manifest is not a Kubernetes object");
  std::string kind = run.contains("kind") && run["kind"].is_string() ? run["kind"].get<std::string>() : "";
  std::string api_version =
      run.contains("apiVersion") && run["apiVersion"].is_string() ? run["apiVersion"].get<std::string>() : "";
  if (kind != api::kKind || api_version != api::kApiVersion) {
    return InvalidArgumentError("the manifest is a " + (kind.empty() ? std::string("?") : kind) + " of " +
                                (api_version.empty() ? std::string("?") : api_version) + ", not a " + api::kKind +
                                " of " + api::kApiVersion);
  }
  if (!run.contains("spec")) return InvalidArgumentError("the manifest has no spec");
  return std::move(run);
}

Status ValidateRunName(const std::string& name) {
  auto bad = [&](const std::string& why) { return InvalidArgumentError("metadata.name '" + name + "': " + why); };
  if (name.empty()) return bad("must not be empty");
  if (name.size() > 52) {
    return bad(
        "must be at most 52 characters: Pod names (<name>-s<shard>-a<attempt>) and label values made from it must stay "
        "within 63");
  }
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '.')) {
      return bad("only lower-case letters, digits, '-' and '.' are allowed");
    }
  }
  if (!std::isalnum(static_cast<unsigned char>(name.front())) ||
      !std::isalnum(static_cast<unsigned char>(name.back()))) {
    return bad("must start and end with a letter or digit");
  }
  return Status::Ok();
}

std::string DefaultRunName(const std::string& module_dir, std::chrono::system_clock::time_point now) {
  std::string base = fs::path(WithoutTrailingSlash(module_dir)).filename().string();
  std::string name;
  for (char c : base) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool ok = std::isalnum(static_cast<unsigned char>(l));
    if (ok) {
      name += l;
    } else if (!name.empty() && name.back() != '-') {
      name += '-';
    }
  }
  if (name.size() > 36) name.resize(36);
  while (!name.empty() && name.back() == '-') name.pop_back();
  if (name.empty()) name = "run";
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return name + "-" + stamp;
}

Status CheckModuleDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return FailedPreconditionError("module folder " + dir + " does not exist");
  if (!fs::exists(fs::path(dir) / "go.mod", ec)) {
    return FailedPreconditionError(dir + " has no go.mod: give the folder of a Go module with --module-dir");
  }
  return Status::Ok();
}

StatusOr<LocalRun> ResolveRun(const RunFlags& flags, const std::optional<json>& manifest, const std::string& cwd,
                              std::chrono::system_clock::time_point now) {
  LocalRun run;
  json object;
  const std::string root = Absolute(flags.module_dir.empty() ? "." : flags.module_dir, cwd);
  if (manifest) {
    object = *manifest;
    if (!object.is_object() || !object.contains("spec") || !object["spec"].is_object())
      return InvalidArgumentError("spec: must be an object");
  } else {
    object = {{"apiVersion", api::kApiVersion},
              {"kind", api::kKind},
              {"metadata", json::object()},
              {"spec", {{"source", {{"volume", {{"claimName", kLocalPlaceholder}}}}}, {"image", kLocalPlaceholder}}}};
    // Friendly defaults: one bound given alone moves the other default out of its way.
    std::string memory = flags.memory.value_or(kDefaultMemory);
    std::string max_memory = flags.max_memory.value_or(kDefaultMaxMemory);
    auto m = policy::ParseMemoryQuantity(memory), mx = policy::ParseMemoryQuantity(max_memory);
    if (!flags.memory && flags.max_memory && m.ok() && mx.ok() && *mx < *m) memory = max_memory;
    if (flags.memory && !flags.max_memory && m.ok() && mx.ok() && *m > *mx) max_memory = memory;
    SetField(object["spec"], "resources.memory", memory);
    SetField(object["spec"], "resources.maxMemory", max_memory);
  }
  json& spec = object["spec"];
  for (const FlagField& f : kFlagFields) {
    const std::optional<std::string>& v = flags.*(f.value);
    if (!v) continue;
    bool text =
        std::string_view(f.field).starts_with("resources.") || std::string_view(f.field).starts_with("memoryStall.");
    SetField(spec, f.field, text ? json(*v) : IntOrText(*v));
  }
  if (flags.no_memory_stall) SetField(spec, "memoryStall.enabled", false);
  if (!flags.packages.empty()) spec["packages"] = flags.packages;

  StatusOr<api::GoTestRunSpec> parsed = api::ParseSpec(spec);
  if (!parsed.ok()) return ForFlag(parsed.status(), flags);
  for (const std::string& p : parsed->packages) {
    if (p.starts_with("-")) {
      return InvalidArgumentError("spec.packages: \"" + p +
                                  "\" is a flag, not a package pattern: flags go in spec.goTest.flags");
    }
  }
  run.spec = *parsed;

  if (!object["metadata"].is_object()) object["metadata"] = json::object();
  json& meta = object["metadata"];
  run.module_dir = WithoutTrailingSlash(Absolute(run.spec.module_dir, root));
  if (!flags.name.empty()) {
    run.name = flags.name;
  } else if (meta.contains("name") && meta["name"].is_string()) {
    run.name = meta["name"].get<std::string>();
  } else {
    run.name = DefaultRunName(run.module_dir, now);
  }
  if (Status s = ValidateRunName(run.name); !s.ok()) {
    return flags.name.empty() ? s : InvalidArgumentError("--name: " + s.message());
  }
  meta["name"] = run.name;
  // A local run has no namespace (the folder is its place), and what an API server
  // wrote on an object read back with `kubectl get -o yaml` is not this run's.
  for (const char* key :
       {"namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink",
        "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers", "ownerReferences"}) {
    meta.erase(key);
  }
  object.erase("status");
  if (!meta.contains("annotations") || !meta["annotations"].is_object()) meta["annotations"] = json::object();
  meta["annotations"][engine::kModuleDirAnnotation] = run.module_dir;

  run.run_dir = flags.out.empty() ? run.module_dir + "/.gotestrun/runs/" + run.name
                                  : WithoutTrailingSlash(Absolute(flags.out, cwd));

  if (manifest) {
    const api::GoTestRunSpec& s = run.spec;
    std::string where = !s.git_url.empty()
                            ? "git " + s.git_url + (s.git_revision.empty() ? "" : "@" + s.git_revision)
                            : "volume " + s.volume_claim + (s.volume_sub_path.empty() ? "" : "/" + s.volume_sub_path);
    run.notes.push_back("spec.source (" + where + ") and spec.image (" + s.image +
                        ") are a cluster's: this run tests the module in " + run.module_dir + " with the go on PATH");
  }
  const bool spec_goflags =
      std::any_of(run.spec.env.begin(), run.spec.env.end(), [](const api::EnvVar& e) { return e.name == "GOFLAGS"; });
  if (flags.shell_goflags && !flags.shell_goflags->empty() && !spec_goflags) {
    // The go commands would see it anyway (they inherit this environment); in the spec
    // the engine sees it as well, as it sees a manifest's.
    run.spec.env.push_back({.name = "GOFLAGS", .value = *flags.shell_goflags});
    run.notes.push_back("GOFLAGS=" + *flags.shell_goflags + " from this shell applies to every go command of the run");
  }
  for (const api::EnvVar& e : run.spec.env) run.env.push_back(e.name + "=" + e.value);
  if (run.spec.policy.cpu_millis) {
    // No more than this machine has: the CPU is not enforced here, and a GOMAXPROCS far
    // above the cores only slows every Go process, go list and go test included.
    std::uint64_t cores = std::max(1u, std::thread::hardware_concurrency());
    std::uint64_t procs = std::clamp<std::uint64_t>((*run.spec.policy.cpu_millis + 999) / 1000, 1, cores);
    run.env.push_back("GOMAXPROCS=" + std::to_string(procs));
    run.notes.push_back("resources.cpu " + run.spec.cpu.value_or("") +
                        " is not enforced here; GOMAXPROCS=" + std::to_string(procs) + " stands in for it");
  }
  run.use_history = !flags.no_history;
  if (flags.machine_memory) {
    StatusOr<policy::Bytes> bytes = policy::ParseMemoryQuantity(*flags.machine_memory);
    if (!bytes.ok() || *bytes == 0) {
      return InvalidArgumentError("--machine-memory " + *flags.machine_memory +
                                  ": not a memory quantity above 0 (e.g. 8Gi): " +
                                  (bytes.ok() ? std::string("it is 0") : bytes.status().message()));
    }
    run.machine_memory = *bytes;
  }
  run.object = std::move(object);
  return run;
}

}  // namespace gotestrun::cli
