#include "controllers/tekton/custom_run.h"

#include <cstdio>
#include <map>

#include "base/go_duration.h"
#include "base/hash.h"
#include "base/timestamps.h"
#include "core/api/gotestrun.h"
#include "core/api/status.h"

namespace gotestrun::controllers::tekton {
namespace {

// Results are strings that a Pipeline passes on to later tasks; Tekton keeps them in
// a size-limited place (the termination message or a sidecar log), so each is bounded.
constexpr size_t kMaxResultBytes = 1024;

const Json& At(const Json& j, const char* key) {
  static const Json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

std::string Str(const Json& j, const char* key) {
  const Json& v = At(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

bool NamesUs(const Json& ref) { return Str(ref, "apiVersion") == api::kApiVersion && Str(ref, "kind") == api::kKind; }

const Json* SucceededCondition(const Json& status) {
  const Json& conditions = At(status, "conditions");
  if (!conditions.is_array()) return nullptr;
  for (const Json& c : conditions) {
    if (Str(c, "type") == "Succeeded") return &c;
  }
  return nullptr;
}

void SetSucceeded(Json& status, const std::string& value, const std::string& reason, const std::string& message,
                  const std::string& now) {
  Json c = {{"type", "Succeeded"}, {"status", value}, {"reason", reason}, {"message", message.substr(0, 32768)}};
  const Json* old = SucceededCondition(status);
  c["lastTransitionTime"] = old != nullptr && Str(*old, "status") == value && !Str(*old, "lastTransitionTime").empty()
                                ? Str(*old, "lastTransitionTime")
                                : now;
  status["conditions"] = Json::array({c});
}

// Words of a param given as one string: "a b,c" -> a, b, c.
std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::string w;
  for (char c : s + " ") {
    if (c == ' ' || c == ',' || c == '\n' || c == '\t') {
      if (!w.empty()) out.push_back(std::move(w));
      w.clear();
    } else {
      w += c;
    }
  }
  return out;
}

enum class ParamType { kString, kInteger, kStrings, kWords };

struct ParamTarget {
  std::vector<const char*> path;  // under spec
  ParamType type;
};

const std::map<std::string, ParamTarget>& ParamTargets() {
  static const std::map<std::string, ParamTarget> targets = {
      {"packages", {{"packages"}, ParamType::kWords}},
      {"image", {{"image"}, ParamType::kString}},
      {"claimName", {{"source", "volume", "claimName"}, ParamType::kString}},
      {"subPath", {{"source", "volume", "subPath"}, ParamType::kString}},
      {"moduleDir", {{"source", "moduleDir"}, ParamType::kString}},
      {"gitUrl", {{"source", "git", "url"}, ParamType::kString}},
      {"gitRevision", {{"source", "git", "revision"}, ParamType::kString}},
      {"memory", {{"resources", "memory"}, ParamType::kString}},
      {"maxMemory", {{"resources", "maxMemory"}, ParamType::kString}},
      {"cpu", {{"resources", "cpu"}, ParamType::kString}},
      {"parallel", {{"goTest", "parallel"}, ParamType::kInteger}},
      {"p", {{"goTest", "p"}, ParamType::kInteger}},
      {"timeout", {{"goTest", "timeout"}, ParamType::kString}},
      {"flags", {{"goTest", "flags"}, ParamType::kStrings}},
      {"tags", {{"goTest", "tags"}, ParamType::kWords}},
      {"shards", {{"sharding", "shards"}, ParamType::kInteger}},
      {"maxShards", {{"sharding", "maxShards"}, ParamType::kInteger}},
      {"maxAttempts", {{"retry", "maxAttempts"}, ParamType::kInteger}},
  };
  return targets;
}

// A param's value in the spec's type. Tekton passes params as strings (or arrays of
// strings); a number arrives as "8".
StatusOr<Json> ParamValue(const std::string& name, const ParamTarget& target, const Json& value) {
  auto wrong = [&](const char* want) {
    return InvalidArgumentError("param " + name + " takes " + want + ", not " + value.dump().substr(0, 80));
  };
  switch (target.type) {
    case ParamType::kString:
      if (!value.is_string()) return wrong("a string");
      return value;
    case ParamType::kInteger: {
      if (value.is_number_integer()) return value;
      if (!value.is_string()) return wrong("a whole number");
      const std::string s = value.get<std::string>();
      long long n = 0;
      size_t used = 0;
      try {
        n = std::stoll(s, &used);
      } catch (...) {
        return wrong("a whole number");
      }
      if (used != s.size()) return wrong("a whole number");
      return Json(n);
    }
    case ParamType::kStrings:
    case ParamType::kWords: {
      if (value.is_string()) {
        if (target.type == ParamType::kStrings) return wrong("an array of strings");
        return Json(Words(value.get<std::string>()));
      }
      if (!value.is_array()) return wrong("an array of strings");
      for (const Json& e : value) {
        if (!e.is_string()) return wrong("an array of strings");
      }
      return value;
    }
  }
  return wrong("a value");
}

std::string Truncate(std::string s, size_t max) {
  if (s.size() > max) {
    s.resize(max - 3);
    s += "...";
  }
  return s;
}

// From the GoTestRun's status as its one codec (core/api/status.h) reads it.
Json Results(const api::RunStatus& run_status) {
  int passed = 0, failed = 0;
  for (const api::PackageStatus& p : run_status.packages) {
    if (p.outcome == "Succeeded" || p.outcome == "NoTests") ++passed;
    else if (p.outcome == "TestsFailed" || p.outcome == "BuildFailed" || p.outcome == "OOMKilled" ||
             p.outcome == "Failed")
      ++failed;
  }
  std::string diagnosis;
  for (const api::DiagnosisEntry& d : run_status.diagnosis) {
    std::string line = d.package + ": " + d.cause;
    if (!d.summary.empty()) line += ": " + d.summary;
    diagnosis += (diagnosis.empty() ? "" : "\n") + line;
  }
  return Json::array({
      {{"name", "passed"}, {"value", std::to_string(passed)}},
      {{"name", "failed"}, {"value", std::to_string(failed)}},
      {{"name", "oomKills"}, {"value", std::to_string(run_status.oom_kills.value_or(0))}},
      {{"name", "diagnosis"}, {"value", Truncate(diagnosis, kMaxResultBytes)}},
  });
}

Json ExtraFields(const std::string& run_name, const api::RunStatus& run_status) {
  // The diagnosis entries as the GoTestRun's status has them.
  api::RunStatus only;
  only.diagnosis = run_status.diagnosis;
  const Json encoded = api::EncodeStatus(only);
  return {{"goTestRun", run_name},
          {"phase", run_status.phase},
          {"diagnosis", encoded.contains("diagnosis") ? encoded["diagnosis"] : Json::array()}};
}

int Retries(const Json& custom_run) {
  const Json& r = At(At(custom_run, "spec"), "retries");
  return r.is_number_integer() && r.get<long long>() > 0
             ? static_cast<int>(std::min<long long>(r.get<long long>(), 100))
             : 0;
}

int RetriesDone(const Json& status) {
  const Json& r = At(status, "retriesStatus");
  return r.is_array() ? static_cast<int>(r.size()) : 0;
}

// "1h0m0s"-like words for a message.
std::string Seconds(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
}

}  // namespace

bool IsGoTestRunTask(const Json& custom_run) {
  const Json& spec = At(custom_run, "spec");
  return NamesUs(At(spec, "customRef")) || NamesUs(At(spec, "customSpec"));
}

int CurrentRetry(const Json& status) { return RetriesDone(status); }

bool IsDone(const Json& custom_run) {
  const Json* c = SucceededCondition(At(custom_run, "status"));
  return c != nullptr && (Str(*c, "status") == "True" || Str(*c, "status") == "False");
}

std::string GoTestRunName(const Json& custom_run, int retry) {
  std::string name = kube::MetaString(custom_run, "name");
  std::string suffix = retry > 0 ? "-retry" + std::to_string(retry) : "";
  // The run's Pods are named "<run>-s<shard>-a<attempt>" and must stay within 63
  // bytes as their label value does, so keep the run's own name short.
  constexpr size_t kMax = 40;
  if (name.size() + suffix.size() <= kMax) return name + suffix;
  char hash[9];
  std::snprintf(hash, sizeof hash, "%08x", static_cast<unsigned>(Fnv1a64(name) & 0xffffffffu));
  std::string head = name.substr(0, kMax - suffix.size() - 9);
  while (!head.empty() && head.back() == '-') head.pop_back();
  return head + "-" + hash + suffix;
}

std::optional<std::string> TemplateName(const Json& custom_run) {
  const Json& ref = At(At(custom_run, "spec"), "customRef");
  if (!NamesUs(ref) || Str(ref, "name").empty()) return std::nullopt;
  return Str(ref, "name");
}

StatusOr<Json> DesiredGoTestRun(const Json& custom_run, const std::optional<Json>& template_run, int retry) {
  const Json& spec = At(custom_run, "spec");
  Json run_spec = Json::object();
  Json labels = Json::object(), annotations = Json::object();
  if (NamesUs(At(spec, "customSpec"))) {
    const Json& custom = At(spec, "customSpec");
    if (At(custom, "spec").is_object()) run_spec = At(custom, "spec");
    const Json& meta = At(custom, "metadata");
    if (At(meta, "labels").is_object()) labels = At(meta, "labels");
    if (At(meta, "annotations").is_object()) annotations = At(meta, "annotations");
  } else if (template_run) {
    if (At(*template_run, "spec").is_object()) run_spec = At(*template_run, "spec");
  }
  const Json& params = At(spec, "params");
  if (params.is_array()) {
    for (const Json& p : params) {
      const std::string name = Str(p, "name");
      auto target = ParamTargets().find(name);
      if (target == ParamTargets().end()) {
        std::string known;
        for (const auto& [k, v] : ParamTargets()) known += (known.empty() ? "" : ", ") + k;
        return InvalidArgumentError("unknown param \"" + Truncate(name, 64) + "\"; a GoTestRun takes: " + known);
      }
      StatusOr<Json> value = ParamValue(name, target->second, At(p, "value"));
      if (!value.ok()) return value.status();
      Json* at = &run_spec;
      for (size_t i = 0; i + 1 < target->second.path.size(); ++i) {
        Json& next = (*at)[target->second.path[i]];
        if (!next.is_object()) next = Json::object();
        at = &next;
      }
      (*at)[target->second.path.back()] = *std::move(value);
      // A git source named by params replaces a volume from the template, and back.
      if (name == "gitUrl" || name == "gitRevision") run_spec["source"].erase("volume");
      if (name == "claimName" || name == "subPath") run_spec["source"].erase("git");
    }
  }
  labels["tekton.dev/customRun"] = Truncate(kube::MetaString(custom_run, "name"), 63);
  Json meta = {{"name", GoTestRunName(custom_run, retry)},
               {"namespace", kube::MetaString(custom_run, "namespace")},
               {"labels", labels},
               {"ownerReferences", Json::array({{{"apiVersion", "tekton.dev/v1beta1"},
                                                 {"kind", kCustomRunKind},
                                                 {"name", kube::MetaString(custom_run, "name")},
                                                 {"uid", kube::MetaString(custom_run, "uid")},
                                                 {"controller", true},
                                                 {"blockOwnerDeletion", true}}})}};
  if (!annotations.empty()) meta["annotations"] = annotations;
  return Json{{"apiVersion", api::kApiVersion}, {"kind", api::kKind}, {"metadata", meta}, {"spec", run_spec}};
}

StatusOr<std::optional<std::chrono::nanoseconds>> AttemptTimeout(const Json& custom_run) {
  const Json& t = At(At(custom_run, "spec"), "timeout");
  if (!t.is_string() || t.get<std::string>().empty()) return std::optional<std::chrono::nanoseconds>(kDefaultTimeout);
  StatusOr<std::chrono::nanoseconds> d = ParseGoDuration(t.get<std::string>());
  if (!d.ok()) return InvalidArgumentError("spec.timeout: " + d.status().message());
  if (d->count() <= 0) return std::optional<std::chrono::nanoseconds>();
  return std::optional<std::chrono::nanoseconds>(*d);
}

Step Decide(const Json& custom_run, const std::optional<Json>& run, std::chrono::system_clock::time_point now,
            const Status& create_error) {
  Step step;
  const std::string now_text = Rfc3339(now);
  Json status = At(custom_run, "status").is_object() ? At(custom_run, "status") : Json::object();
  step.status = status;
  if (IsDone(custom_run)) return step;
  const Json& spec = At(custom_run, "spec");
  const std::string run_name = GoTestRunName(custom_run, RetriesDone(status));
  const Json& generation = At(At(custom_run, "metadata"), "generation");
  if (generation.is_number_integer()) status["observedGeneration"] = generation;
  if (Str(status, "startTime").empty()) status["startTime"] = now_text;
  auto finish = [&](const std::string& value, const std::string& reason, const std::string& message) {
    SetSucceeded(status, value, reason, message, now_text);
    status["completionTime"] = now_text;
  };

  // Cancelled or timed out: the GoTestRun goes (its Pods with it), then the end is written.
  if (Str(spec, "status") == "RunCancelled") {
    std::string message = Str(spec, "statusMessage");
    finish("False", kReasonCancelled, message.empty() ? "CustomRun cancelled" : message);
    // Deleted even when `run` is empty: the cache may not have caught up with the run this
    // controller created a moment ago, and once the end is written nothing looks again.
    step.action = Step::Action::kDeleteRun;
    step.status = std::move(status);
    return step;
  }
  StatusOr<std::optional<std::chrono::nanoseconds>> timeout = AttemptTimeout(custom_run);
  if (!timeout.ok()) {
    finish("False", kReasonInvalidParams, timeout.status().message());
    step.action = run ? Step::Action::kDeleteRun : Step::Action::kNone;
    step.status = std::move(status);
    return step;
  }
  if (*timeout) {
    auto started = ParseRfc3339(Str(status, "startTime"));
    auto elapsed = started ? now - *started : std::chrono::system_clock::duration::zero();
    if (elapsed >= **timeout) {
      finish("False", kReasonTimedOut,
             "CustomRun " + kube::MetaString(custom_run, "name") + " timed out after " + Seconds(**timeout));
      step.action = Step::Action::kDeleteRun;  // even when `run` is empty, as for a cancel
      step.status = std::move(status);
      return step;
    }
    step.requeue_after = std::chrono::duration_cast<std::chrono::nanoseconds>(**timeout - elapsed);
  }

  if (!create_error.ok()) {
    finish("False", kReasonInvalidParams, create_error.message());
    step.requeue_after.reset();
    step.status = std::move(status);
    return step;
  }
  if (!run) {
    if (SucceededCondition(status) == nullptr) {
      SetSucceeded(status, "Unknown", kReasonRunning, "creating GoTestRun " + run_name, now_text);
    }
    step.action = Step::Action::kCreateRun;
    step.status = std::move(status);
    return step;
  }
  const api::RunStatus run_status = api::DecodeStatus(At(*run, "status"));
  const std::string& phase = run_status.phase;
  if (phase == "Succeeded" || phase == "Failed") {
    status["results"] = Results(run_status);
    status["extraFields"] = ExtraFields(run_name, run_status);
    const std::string& message = run_status.message;
    if (phase == "Succeeded") {
      finish("True", kReasonSucceeded, message.empty() ? "GoTestRun " + run_name + " succeeded" : message);
      step.requeue_after.reset();
    } else if (RetriesDone(status) < Retries(custom_run)) {
      // Kept as Tekton keeps a failed try, and the next GoTestRun starts with a fresh timeout.
      Json failed = {{"startTime", Str(status, "startTime")},
                     {"completionTime", now_text},
                     {"results", status["results"]},
                     {"conditions", Json::array({{{"type", "Succeeded"},
                                                  {"status", "False"},
                                                  {"reason", kReasonFailed},
                                                  {"message", message},
                                                  {"lastTransitionTime", now_text}}})}};
      if (!status["retriesStatus"].is_array()) status["retriesStatus"] = Json::array();
      status["retriesStatus"].push_back(std::move(failed));
      status["startTime"] = now_text;
      status.erase("results");
      status.erase("extraFields");
      SetSucceeded(status, "Unknown", kReasonRunning,
                   "retry " + std::to_string(RetriesDone(status)) + " of " + std::to_string(Retries(custom_run)) +
                       " after: " + message,
                   now_text);
      step.action = Step::Action::kCreateRun;
      if (*timeout) step.requeue_after = **timeout;
    } else {
      finish("False", kReasonFailed, message.empty() ? "GoTestRun " + run_name + " failed" : message);
      step.requeue_after.reset();
    }
    step.status = std::move(status);
    return step;
  }
  // Running: the GoTestRun's own words about where it is.
  std::string message = "GoTestRun " + run_name + (phase.empty() ? " created" : " " + phase);
  if (const api::Condition* c = run_status.FindCondition("Succeeded"); c != nullptr && !c->message.empty()) {
    message += ": " + c->message;
  }
  SetSucceeded(status, "Unknown", kReasonRunning, message, now_text);
  step.status = std::move(status);
  return step;
}

}  // namespace gotestrun::controllers::tekton
