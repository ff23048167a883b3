#include "operator/options.h"

#include "base/go_duration.h"

#include <charconv>
#include <functional>
#include <map>

namespace gotestrun::operator_main {
namespace {

StatusOr<int> IntFlag(const std::string& flag, const std::string& value, int min, int max) {
  int v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < min || v > max) {
    return InvalidArgumentError("--" + flag + " takes a whole number from " + std::to_string(min) + " to " +
                                std::to_string(max) + ", not \"" + value + "\"");
  }
  return v;
}

// DNS-1123 label, what a namespace name must be.
bool IsNamespaceName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

}  // namespace

const char kOperatorUsage[] =
    "usage: gotestrun-operator --profiles-dir DIR [--kubeconfig FILE] [--watch-namespaces NS,...]\n"
    "                          [--agent-image IMAGE] [--agent-path PATH] [--workers N]\n"
    "                          [--leader-elect] [--lease-namespace NS] [--lease-name NAME] [--identity ID]\n"
    "                          [--lease-duration D] [--renew-deadline D] [--retry-period D]\n"
    "                          [--http-port N] [--http-address ADDR] [--version]\n"
    "\n"
    "  --profiles-dir DIR       where the shared profiles volume is mounted (required)\n"
    "  --kubeconfig FILE        else the in-cluster service account, else ~/.kube/config\n"
    "  --watch-namespaces LIST  comma-separated namespaces to run GoTestRuns in; empty: all\n"
    "  --agent-image IMAGE      the image the test Pods' init container copies the agent from\n"
    "  --agent-path PATH        where the agent is inside that image\n"
    "  --workers N              reconciles at once (1-64, default 2)\n"
    "  --leader-elect           one active replica, elected on a Lease\n"
    "  --lease-duration D       a standby takes an unrenewed lease after D (default 15s)\n"
    "  --renew-deadline D       the leader stops leading when it cannot renew for D (default 10s)\n"
    "  --retry-period D         how often candidates try to take or renew the lease (default 2s)\n"
    "  --http-port N            /healthz, /readyz and /metrics (default 8081; 0 turns them off)\n";

StatusOr<OperatorOptions> ParseOperatorFlags(const std::vector<std::string>& args) {
  OperatorOptions o;
  using Setter = std::function<Status(const std::string&)>;
  auto text = [](std::string& field) -> Setter {
    return [&field](const std::string& v) {
      field = v;
      return Status::Ok();
    };
  };
  auto number = [](int& field, const std::string& flag, int min, int max) -> Setter {
    return [&field, flag, min, max](const std::string& v) -> Status {
      StatusOr<int> n = IntFlag(flag, v, min, max);
      if (!n.ok()) return n.status();
      field = *n;
      return Status::Ok();
    };
  };
  auto duration = [](std::chrono::milliseconds& field, const std::string& flag) -> Setter {
    return [&field, flag](const std::string& v) -> Status {
      StatusOr<std::chrono::nanoseconds> d = ParseGoDuration(v);
      if (!d.ok() || *d < std::chrono::milliseconds(100) || *d > std::chrono::hours(1)) {
        return InvalidArgumentError("--" + flag + " takes a duration from 100ms to 1h (\"15s\"), not \"" + v + "\"");
      }
      field = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
      return Status::Ok();
    };
  };
  std::map<std::string, Setter> with_value = {
      {"profiles-dir", text(o.profiles_dir)},
      {"kubeconfig", text(o.kubeconfig)},
      {"agent-image", text(o.agent_image)},
      {"agent-path", text(o.agent_path)},
      {"lease-namespace", text(o.lease_namespace)},
      {"lease-name", text(o.lease_name)},
      {"identity", text(o.identity)},
      {"lease-duration", duration(o.lease_duration, "lease-duration")},
      {"renew-deadline", duration(o.renew_deadline, "renew-deadline")},
      {"retry-period", duration(o.retry_period, "retry-period")},
      {"http-address", text(o.http_address)},
      {"workers", number(o.workers, "workers", 1, 64)},
      {"http-port", number(o.http_port, "http-port", 0, 65535)},
      {"watch-namespaces",
       [&o](const std::string& v) -> Status {
         o.watch_namespaces.clear();
         size_t start = 0;
         while (start <= v.size()) {
           size_t comma = v.find(',', start);
           std::string ns = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
           if (!ns.empty()) {
             if (!IsNamespaceName(ns)) {
               return InvalidArgumentError("--watch-namespaces: \"" + ns + "\" is not a namespace name");
             }
             o.watch_namespaces.push_back(ns);
           }
           if (comma == std::string::npos) break;
           start = comma + 1;
         }
         return Status::Ok();
       }},
  };
  // --namespace NS, the older spelling of one watched namespace.
  with_value["namespace"] = with_value["watch-namespaces"];

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
      continue;
    }
    if (a == "--version") {
      o.version = true;
      continue;
    }
    if (a == "--leader-elect" || a == "--leader-elect=true") {
      o.leader_elect = true;
      continue;
    }
    if (a == "--leader-elect=false") {
      o.leader_elect = false;
      continue;
    }
    if (a.rfind("--", 0) != 0) return InvalidArgumentError("unexpected argument \"" + a + "\"");
    std::string name = a.substr(2), value;
    bool inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    auto setter = with_value.find(name);
    if (setter == with_value.end()) return InvalidArgumentError("unknown flag --" + name);
    if (!inline_value) {
      if (i + 1 >= args.size()) return InvalidArgumentError("--" + name + " needs a value");
      value = args[++i];
    }
    GTR_RETURN_IF_ERROR(setter->second(value));
  }
  // Otherwise a leader could still believe it leads after a standby took the lease.
  if (o.renew_deadline >= o.lease_duration || o.retry_period >= o.renew_deadline) {
    return InvalidArgumentError(
        "--retry-period must be shorter than --renew-deadline, and --renew-deadline shorter "
        "than --lease-duration");
  }
  if (!o.help && !o.version && o.profiles_dir.empty()) {
    return InvalidArgumentError("--profiles-dir is required: the folder where the shared profiles volume is mounted");
  }
  return o;
}

}  // namespace gotestrun::operator_main
