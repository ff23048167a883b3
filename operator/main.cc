// gotestrun-operator: watches GoTestRuns and runs them as Pods.
//
//   gotestrun-operator --profiles-dir DIR [--kubeconfig FILE] [--namespace NS]
//                      [--agent-image IMAGE] [--agent-path PATH] [--workers N]
//                      [--leader-elect --lease-namespace NS --identity ID]
//
// Wiring only: flags, the client, the informers, the controller, leader election,
// and a clean stop on SIGINT/SIGTERM.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <map>
#include <thread>

#include "controllers/gotestrun/reconciler.h"
#include "kube/runtime/leader_election.h"

namespace {

constexpr char kUsage[] =
    "usage: gotestrun-operator --profiles-dir DIR [--kubeconfig FILE] [--namespace NS]\n"
    "                          [--agent-image IMAGE] [--agent-path PATH] [--workers N]\n"
    "                          [--leader-elect] [--lease-namespace NS] [--identity ID]\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace gotestrun;
  std::map<std::string, std::string> flags = {{"workers", "2"}, {"lease-namespace", "default"}};
  bool leader_elect = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--leader-elect") {
      leader_elect = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::cerr << "unknown argument " << a << "\n" << kUsage;
      return 2;
    }
    flags[a.substr(2)] = argv[++i];
  }
  if (flags["profiles-dir"].empty()) {
    std::cerr << "--profiles-dir is required: the folder where the shared profiles volume is mounted\n" << kUsage;
    return 2;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  StatusOr<kube::ClusterConfig> config =
      flags["kubeconfig"].empty() ? kube::DefaultConfig() : kube::LoadKubeconfig(flags["kubeconfig"]);
  if (!config.ok()) {
    std::cerr << "kubernetes config: " << config.status() << "\n";
    return 1;
  }
  auto client = kube::Client::Create(*config);
  if (!client.ok()) {
    std::cerr << "kubernetes client: " << client.status() << "\n";
    return 1;
  }
  controllers::ReconcilerOptions options;
  options.profiles_dir = flags["profiles-dir"];
  if (!flags["agent-image"].empty()) options.pods.agent_image = flags["agent-image"];
  if (!flags["agent-path"].empty()) options.pods.agent_path = flags["agent-path"];

  runtime::WatcherOptions run_watch;
  run_watch.ns = flags["namespace"];
  runtime::WatcherOptions pod_watch = run_watch;
  pod_watch.label_selector = controllers::kRunLabel;  // only the Pods of runs
  runtime::Informer runs(**client, controllers::kGoTestRuns, run_watch);
  runtime::Informer pods(**client, kube::ResourceType::Pods(), pod_watch);
  controllers::ClusterObjects objects(**client, runs, pods);
  controllers::GoTestRunReconciler reconciler(objects, objects, objects, options);
  runtime::Controller controller("gotestrun", reconciler, std::stoi(flags["workers"]));
  controller.For(runs);
  controller.Watches(pods, [](const runtime::Store& store, const std::string& key) -> std::optional<std::string> {
    runtime::ObjectPtr pod = store.Get(key);
    if (pod == nullptr) {
      // A deleted Pod: its key is "<ns>/<run>-..."; the run re-creates what it needs
      // on its next reconcile, which a deletion does not otherwise trigger.
      return std::nullopt;
    }
    return runtime::ControllerOwnerKey(*pod, gotestrun::api::kKind);
  });

  kube::StopSignal stop;
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("signal {}: stopping", sig);
    stop.Stop();
  });
  signals.detach();

  auto run_controller = [&] {
    Status s = controller.Start();
    if (!s.ok()) {
      spdlog::error("controller: {}", s.ToString());
      stop.Stop();
      return;
    }
    spdlog::info("gotestrun-operator running; profiles in {}", options.profiles_dir);
  };
  if (leader_elect) {
    runtime::LeaderElectionConfig le;
    le.lease_namespace = flags["lease-namespace"];
    le.lease_name = "gotestrun-operator";
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    le.identity = flags["identity"].empty() ? std::string(host) + "-" + std::to_string(::getpid()) : flags["identity"];
    runtime::LeaderElector elector(**client, le);
    elector.Run(stop, run_controller, [&] { stop.Stop(); });
  } else {
    run_controller();
    while (!stop.WaitFor(std::chrono::hours(1))) {
    }
  }
  controller.Stop();
  runs.Stop();
  pods.Stop();
  spdlog::info("gotestrun-operator stopped");
  return 0;
}
