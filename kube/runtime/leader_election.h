// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it, so that of
// several operator replicas exactly one reconciles.
//
// The holder renews the lease every retry period. Another candidate takes the lease
// over only when it has seen the same record unchanged for a whole lease duration,
// measured on its own clock (never by comparing clocks between machines). Every
// write is a compare-and-swap on the Lease's resourceVersion, so two candidates can
// never both win. A leader that cannot renew within the renew deadline stops leading
// before its lease can expire for the others.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "base/clock.h"
#include "kube/client/client.h"

namespace gotestrun::runtime {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per candidate, e.g. the pod name
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  // Hand the lease over at once on a clean stop instead of letting it expire.
  bool release_on_stop = true;
};

class LeaderElector {
 public:
  LeaderElector(kube::Client& client, LeaderElectionConfig config, const Clock& clock = SystemClock::Get());

  // Blocks: campaigns until elected, calls `on_started_leading`, renews until `stop`
  // fires or renewal fails, then calls `on_stopped_leading`. Returns when it is no
  // longer leading (or was stopped before it ever led).
  void Run(kube::StopSignal& stop, const std::function<void()>& on_started_leading,
           const std::function<void()>& on_stopped_leading);

  bool leading() const { return leading_.load(); }

 private:
  // One attempt to acquire or renew; true when we hold the lease afterwards.
  bool TryAcquireOrRenew();
  void Release();

  kube::Client& client_;
  LeaderElectionConfig config_;
  const Clock& clock_;
  std::atomic<bool> leading_{false};
  // The last record seen and when it was seen to change, for expiry on our clock.
  std::string observed_record_;
  Clock::time_point observed_at_{};
  kube::Json lease_;          // as last read or written
  std::string last_failure_;  // the last request failure logged, cleared by a success
  // Logs a failed request (see last_failure_); returns false, the round lost.
  bool Failed(const Status& status);
};

}  // namespace gotestrun::runtime
