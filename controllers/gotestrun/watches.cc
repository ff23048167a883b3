#include "controllers/gotestrun/watches.h"

#include "controllers/gotestrun/pods.h"
#include "core/api/gotestrun.h"

namespace gotestrun::controllers {

runtime::WatcherOptions RunPodWatch(const std::string& ns) {
  runtime::WatcherOptions o;
  o.ns = ns;
  o.label_selector = kRunLabel;
  // The reconciler reads a Pod's metadata and status only; its spec (commands, env,
  // volumes, two containers) and managedFields would be most of a cached Pod, and
  // under load the cache holds thousands.
  o.transform = [](Json& pod) {
    runtime::StripManagedFields(pod);
    if (pod.is_object()) pod.erase("spec");
  };
  return o;
}

std::optional<std::string> RunOfPod(const runtime::Store& pods, const std::string& pod_key) {
  runtime::ObjectPtr pod = pods.Get(pod_key);
  if (pod == nullptr) return std::nullopt;
  return runtime::ControllerOwnerKey(*pod, api::kKind);
}

bool PodEnded(const runtime::Store& pods, const std::string& pod_key) {
  runtime::ObjectPtr pod = pods.Get(pod_key);
  return pod != nullptr && PodFinished(*pod);
}

void WatchRunsAndPods(runtime::Controller& controller, const runtime::Informers& runs, const runtime::Informers& pods) {
  for (runtime::Informer* i : runs.all()) controller.For(*i);
  for (runtime::Informer* i : pods.all()) controller.Watches(*i, RunOfPod, PodEnded);
}

}  // namespace gotestrun::controllers
