// Informer sync benchmark.
//
//   informer_bench populate NAMESPACE COUNT   create COUNT ConfigMaps (4 writers)
//   informer_bench sync                        list+watch every ConfigMap into an
//                                              informer's store; print objects and
//                                              seconds until synced
// Both read $KUBECONFIG. run.sh times `sync` beside kubectl on the same objects.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "kube/client/client.h"
#include "kube/runtime/informer.h"

using gotestrun::kube::Client;
using gotestrun::kube::Json;
using gotestrun::kube::ResourceType;

namespace {

std::unique_ptr<Client> Connect() {
  const char* path = std::getenv("KUBECONFIG");
  auto config = path ? gotestrun::kube::LoadKubeconfig(path) : gotestrun::kube::DefaultConfig();
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    std::exit(1);
  }
  auto client = Client::Create(*config);
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    std::exit(1);
  }
  return std::move(*client);
}

int Populate(const std::string& ns, int count) {
  auto client = Connect();
  (void)client->Create(ResourceType::Namespaces(), "",
                       {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  // Objects of a realistic size: a few hundred bytes of data each.
  std::string payload(400, 'x');
  std::vector<std::thread> writers;
  std::atomic<int> failed{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto c = Connect();
      for (int i = w; i < count; i += 4) {
        Json cm = {{"apiVersion", "v1"},
                   {"kind", "ConfigMap"},
                   {"metadata", {{"name", "bench-" + std::to_string(i)}, {"labels", {{"bench", "informer"}}}}},
                   {"data", {{"payload", payload}, {"index", std::to_string(i)}}}};
        auto r = c->Create(ResourceType::ConfigMaps(), ns, cm);
        if (!r.ok() && r.status().code() != gotestrun::StatusCode::kAlreadyExists) ++failed;
      }
    });
  }
  for (auto& t : writers) t.join();
  if (failed > 0) {
    std::cerr << failed << " creates failed\n";
    return 1;
  }
  return 0;
}

int Sync() {
  auto client = Connect();
  auto start = std::chrono::steady_clock::now();
  gotestrun::runtime::Informer informer(*client, ResourceType::ConfigMaps());
  informer.Start();
  if (!informer.WaitForSync(std::chrono::minutes(5))) {
    std::cerr << "informer did not sync\n";
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "objects " << informer.store().size() << " synced_seconds " << secs << "\n";
  informer.Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "populate" && argc == 4) return Populate(argv[2], std::atoi(argv[3]));
  if (mode == "sync" && argc == 2) return Sync();
  std::cerr << "usage: informer_bench populate NAMESPACE COUNT | informer_bench sync\n";
  return 2;
}
