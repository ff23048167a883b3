// gotestrun-operator: watches GoTestRuns and runs them as Pods.
//
// Wiring only: the flags (options.h), the client, the informers, the controller
// (controllers/gotestrun), the probe and metrics endpoints, leader election, and a
// clean stop on SIGINT/SIGTERM.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "base/version.h"
#include "controllers/argo/workflow_stop.h"
#include "controllers/gotestrun/reconciler.h"
#include "controllers/gotestrun/run_metrics.h"
#include "controllers/gotestrun/watches.h"
#include "controllers/tekton/reconciler.h"
#include "kube/runtime/leader_election.h"
#include "kube/runtime/probes.h"
#include "operator/options.h"

int main(int argc, char** argv) {
  using namespace gotestrun;
  StatusOr<operator_main::OperatorOptions> parsed =
      operator_main::ParseOperatorFlags(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    std::cerr << "gotestrun-operator: " << parsed.status().message() << "\n\n" << operator_main::kOperatorUsage;
    return 2;
  }
  const operator_main::OperatorOptions& flags = *parsed;
  if (flags.help) {
    std::cout << operator_main::kOperatorUsage;
    return 0;
  }
  if (flags.version) {
    std::cout << "gotestrun-operator " << kVersion << "\n";
    return 0;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  StatusOr<kube::ClusterConfig> config =
      flags.kubeconfig.empty() ? kube::DefaultConfig() : kube::LoadKubeconfig(flags.kubeconfig);
  if (!config.ok()) {
    std::cerr << "kubernetes config: " << config.status() << "\n";
    return 1;
  }
  auto client = kube::Client::Create(*config);
  if (!client.ok()) {
    std::cerr << "kubernetes client: " << client.status() << "\n";
    return 1;
  }
  // Which server and which credentials: the first thing to know when a request is refused.
  spdlog::info("API server {}, credentials: {}", config->Server(),
               !config->token_file.empty()        ? "token from " + config->token_file
               : !config->token.empty()           ? std::string("bearer token")
               : !config->client_cert_pem.empty() ? std::string("client certificate")
                                                  : std::string("none"));
  controllers::ReconcilerOptions options;
  options.profiles_dir = flags.profiles_dir;
  if (!flags.agent_image.empty()) options.pods.agent_image = flags.agent_image;
  if (!flags.agent_path.empty()) options.pods.agent_path = flags.agent_path;

  // One informer per watched namespace, each kind read through one view of them all;
  // no namespaces: one informer for the whole cluster.
  const std::vector<std::string> namespaces =
      flags.watch_namespaces.empty() ? std::vector<std::string>{""} : flags.watch_namespaces;
  std::vector<std::unique_ptr<runtime::Informer>> owned;
  auto informers = [&](const kube::ResourceType& type, auto watch_of) {
    std::vector<runtime::Informer*> of_type;
    for (const std::string& ns : namespaces) {
      of_type.push_back(owned.emplace_back(std::make_unique<runtime::Informer>(**client, type, watch_of(ns))).get());
    }
    return runtime::Informers(std::move(of_type));
  };
  auto in_namespace = [](const std::string& ns) {
    runtime::WatcherOptions o;
    o.ns = ns;
    o.transform = runtime::StripManagedFields;
    return o;
  };
  const runtime::Informers runs = informers(controllers::kGoTestRuns, in_namespace);
  const runtime::Informers pods = informers(kube::ResourceType::Pods(), controllers::RunPodWatch);
  controllers::ClusterObjects objects(**client, runs, pods);
  controllers::GoTestRunReconciler reconciler(objects, objects, objects, options);
  runtime::Controller controller("gotestrun", reconciler, flags.workers);
  controllers::WatchRunsAndPods(controller, runs, pods);
  controllers::ExportRunPhases([runs] { return runs.List(); });

  // GoTestRun as a Tekton custom task, and Argo Workflows' stop, where Tekton or Argo is
  // installed (its CRD is served); otherwise their informers would never sync.
  // Installing either later takes an operator restart.
  struct Extension {
    std::unique_ptr<runtime::Reconciler> reconciler;
    std::unique_ptr<runtime::Controller> controller;
  };
  std::vector<Extension> extensions;
  auto served = [&](const char* what, StatusOr<bool> is) {
    if (!is.ok()) spdlog::warn("{}: {}; not watching them", what, is.status().ToString());
    else spdlog::info("{} {}", what, *is ? "are served: watching them" : "are not served");
    return is.ok() && *is;
  };
  if (served("tekton.dev/v1beta1 CustomRuns", controllers::tekton::CustomRunsServed(**client))) {
    Extension& e = extensions.emplace_back();
    const runtime::Informers custom_runs = informers(controllers::tekton::kCustomRuns, in_namespace);
    e.reconciler = std::make_unique<controllers::tekton::CustomRunReconciler>(**client, custom_runs, runs);
    e.controller = std::make_unique<runtime::Controller>("customrun", *e.reconciler, flags.workers);
    controllers::tekton::WatchCustomRuns(*e.controller, custom_runs, runs);
  }
  if (served("argoproj.io/v1alpha1 Workflows", controllers::argo::WorkflowsServed(**client))) {
    Extension& e = extensions.emplace_back();
    const runtime::Informers workflows = informers(controllers::argo::kWorkflows, in_namespace);
    e.reconciler = std::make_unique<controllers::argo::WorkflowStopReconciler>(**client, workflows, runs);
    e.controller = std::make_unique<runtime::Controller>("workflow", *e.reconciler, 1);
    controllers::argo::WatchWorkflows(*e.controller, workflows, runs);
  }

  kube::StopSignal stop;
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("signal {}: stopping", sig);
    stop.Stop();
  });
  signals.detach();

  // Ready once this replica either leads with its caches synced or stands by; a leader
  // whose caches never sync stays unready, so a rollout waits for it.
  std::atomic<bool> leading{false}, started{false};
  std::unique_ptr<runtime::ProbeServer> probes;
  if (flags.http_port > 0) {
    probes = std::make_unique<runtime::ProbeServer>(flags.http_address, flags.http_port, [&]() -> std::string {
      if (stop.stopped()) return "stopping";
      if (leading.load() && !started.load()) return "starting the controller";
      return "";
    });
    if (Status s = probes->Start(); !s.ok()) {
      std::cerr << s.message() << "\n";
      return 1;
    }
  }

  auto run_controller = [&] {
    leading = true;
    Status s = controller.Start();
    for (Extension& e : extensions) {
      if (s.ok()) s = e.controller->Start();
    }
    if (!s.ok()) {
      spdlog::error("controller: {}", s.ToString());
      stop.Stop();
      return;
    }
    started = true;
    spdlog::info("gotestrun-operator {} running; profiles in {}", kVersion, options.profiles_dir);
  };
  if (flags.leader_elect) {
    runtime::LeaderElectionConfig le;
    le.lease_namespace = flags.lease_namespace;
    le.lease_name = flags.lease_name;
    le.lease_duration = flags.lease_duration;
    le.renew_deadline = flags.renew_deadline;
    le.retry_period = flags.retry_period;
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    le.identity = flags.identity.empty() ? std::string(host) + "-" + std::to_string(::getpid()) : flags.identity;
    runtime::LeaderElector elector(**client, le);
    elector.Run(stop, run_controller, [&] { stop.Stop(); });
  } else {
    run_controller();
    while (!stop.WaitFor(std::chrono::hours(1))) {
    }
  }
  for (Extension& e : extensions) e.controller->Stop();
  controller.Stop();
  for (std::unique_ptr<runtime::Informer>& i : owned) i->Stop();
  if (probes) probes->Stop();
  spdlog::info("gotestrun-operator stopped");
  return 0;
}
