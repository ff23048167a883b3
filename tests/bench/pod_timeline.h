// The OOM-to-next-Pod benchmarks' clock: one watch of Pods records when each Pod was
// added and when it was first reported OOMKilled (both arrive on the same stream, in the
// API server's order), and from those, how long each killed attempt waited for the Pod
// of the next attempt.
#pragma once

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kube/runtime/informer.h"

namespace gotestrun::bench {

class PodTimeline {
 public:
  using Clock = std::chrono::steady_clock;

  // Records from `pods`' events from now on; `pods` must outlive this.
  explicit PodTimeline(runtime::Informer& pods) {
    pods.AddHandler([this, &pods](const std::string& key) {
      const auto now = Clock::now();
      runtime::ObjectPtr p = pods.store().Get(key);
      if (p == nullptr) return;
      std::lock_guard<std::mutex> lock(mu_);
      added_at_.emplace(key, now);
      const kube::Json& st = (*p)["status"];
      if (st.is_object() && st.contains("containerStatuses") && st["containerStatuses"].is_array()) {
        for (const kube::Json& cs : st["containerStatuses"]) {
          if (cs.value(kube::Json::json_pointer("/state/terminated/reason"), std::string()) == "OOMKilled")
            oom_at_.emplace(key, now);
        }
      }
    });
  }

  int oom_kills() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(oom_at_.size());
  }

  // For each OOM-killed attempt Pod "<run>-s<i>-a<k>" whose replacement "...-a<k+1>" has
  // been added: the milliseconds between the kill and the replacement.
  std::vector<double> OomToNextPodMs() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<double> ms;
    for (const auto& [key, killed] : oom_at_) {
      const size_t a = key.rfind("-a");
      if (a == std::string::npos) continue;
      const std::string next = key.substr(0, a + 2) + std::to_string(std::atoi(key.c_str() + a + 2) + 1);
      if (auto it = added_at_.find(next); it != added_at_.end())
        ms.push_back(std::chrono::duration<double, std::milli>(it->second - killed).count());
    }
    return ms;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Clock::time_point> oom_at_, added_at_;
};

}  // namespace gotestrun::bench
