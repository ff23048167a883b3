#include "kube/runtime/leader_election.h"

#include <spdlog/spdlog.h>

#include "base/metrics.h"
#include "base/timestamps.h"

namespace gotestrun::runtime {
namespace {

std::string Holder(const kube::Json& lease) {
  if (!lease.is_object() || !lease.contains("spec") || !lease["spec"].is_object()) return {};
  const kube::Json& spec = lease["spec"];
  return spec.contains("holderIdentity") && spec["holderIdentity"].is_string()
             ? spec["holderIdentity"].get<std::string>()
             : std::string();
}

// What identifies one renewal of the record: who holds it and when it was renewed.
std::string RecordOf(const kube::Json& lease) {
  if (!lease.is_object() || !lease.contains("spec") || !lease["spec"].is_object()) return {};
  return lease["spec"].dump();
}

}  // namespace

LeaderElector::LeaderElector(kube::Client& client, LeaderElectionConfig config, const Clock& clock)
    : client_(client), config_(std::move(config)), clock_(clock) {}

bool LeaderElector::Failed(const Status& status) {
  // A rival's write in between (409) is the normal way to lose a round. Anything else
  // (a refusal, an unreachable server) would otherwise leave a candidate waiting in
  // silence forever: said once, and again when it changes.
  if (status.code() != StatusCode::kAborted && status.ToString() != last_failure_) {
    last_failure_ = status.ToString();
    spdlog::warn("lease {}/{}: {}", config_.lease_namespace, config_.lease_name, last_failure_);
  }
  return false;
}

bool LeaderElector::TryAcquireOrRenew() {
  const auto leases = kube::ResourceType::Leases();
  const int duration_s =
      static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count());
  StatusOr<kube::Json> current = client_.Get(leases, config_.lease_namespace, config_.lease_name);
  std::string now = MicroTimeNow();
  if (!current.ok()) {
    if (current.status().code() != StatusCode::kNotFound) return Failed(current.status());
    kube::Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                        {"kind", "Lease"},
                        {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
                        {"spec",
                         {{"holderIdentity", config_.identity},
                          {"leaseDurationSeconds", duration_s},
                          {"acquireTime", now},
                          {"renewTime", now},
                          {"leaseTransitions", 0}}}};
    StatusOr<kube::Json> created = client_.Create(leases, config_.lease_namespace, lease);
    if (!created.ok()) return Failed(created.status());
    lease_ = std::move(*created);
    last_failure_.clear();
    observed_record_ = RecordOf(lease_);
    observed_at_ = clock_.Now();
    return true;
  }
  std::string record = RecordOf(*current);
  if (record != observed_record_) {
    observed_record_ = record;
    observed_at_ = clock_.Now();
  }
  std::string holder = Holder(*current);
  bool ours = holder == config_.identity;
  if (!ours && !holder.empty() && clock_.Now() < observed_at_ + config_.lease_duration) return false;

  kube::Json updated = *current;
  kube::Json& spec = updated["spec"];
  if (!spec.is_object()) spec = kube::Json::object();
  if (!ours) {
    spec["acquireTime"] = now;
    int transitions = spec.contains("leaseTransitions") && spec["leaseTransitions"].is_number_integer()
                          ? spec["leaseTransitions"].get<int>()
                          : 0;
    spec["leaseTransitions"] = transitions + 1;
  }
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] = duration_s;
  spec["renewTime"] = now;
  // The resourceVersion read above makes this a compare-and-swap: a rival's write in
  // between turns it into a 409 and we lose this round.
  StatusOr<kube::Json> written = client_.Update(leases, updated);
  if (!written.ok()) return Failed(written.status());
  lease_ = std::move(*written);
  last_failure_.clear();
  observed_record_ = RecordOf(lease_);
  observed_at_ = clock_.Now();
  return true;
}

void LeaderElector::Release() {
  if (!lease_.is_object() || Holder(lease_) != config_.identity) return;
  kube::Json released = lease_;
  released["spec"]["holderIdentity"] = "";
  released["spec"]["leaseDurationSeconds"] = 1;
  released["spec"]["renewTime"] = MicroTimeNow();
  if (!client_.Update(kube::ResourceType::Leases(), released).ok()) {
    spdlog::warn("lease {}/{}: could not release; it expires by itself", config_.lease_namespace, config_.lease_name);
  }
}

void LeaderElector::Run(kube::StopSignal& stop, const std::function<void()>& on_started_leading,
                        const std::function<void()>& on_stopped_leading) {
  // client-go's gauge: 1 while this candidate leads, 0 otherwise.
  metrics::GaugeValue& master =
      metrics::Registry::Default()
          .Gauge("leader_election_master_status",
                 "Gauge of if the reporting system is master of the relevant lease, 0 "
                 "indicates backup, 1 indicates master. 'name' is the string used to identify "
                 "the lease.",
                 {"name"})
          .With({config_.lease_name});
  master.Set(0);
  while (!stop.stopped()) {
    if (TryAcquireOrRenew()) break;
    stop.WaitFor(config_.retry_period);
  }
  if (stop.stopped()) return;
  leading_ = true;
  master.Set(1);
  spdlog::info("lease {}/{}: {} is leading", config_.lease_namespace, config_.lease_name, config_.identity);
  on_started_leading();
  auto last_renew = clock_.Now();
  while (!stop.WaitFor(config_.retry_period)) {
    if (TryAcquireOrRenew()) {
      last_renew = clock_.Now();
    } else if (clock_.Now() - last_renew > config_.renew_deadline) {
      spdlog::warn("lease {}/{}: {} could not renew within the deadline; stepping down", config_.lease_namespace,
                   config_.lease_name, config_.identity);
      break;
    }
  }
  leading_ = false;
  master.Set(0);
  on_stopped_leading();
  if (stop.stopped() && config_.release_on_stop) Release();
}

}  // namespace gotestrun::runtime
