#include "kube/runtime/informer.h"

namespace gotestrun::runtime {

Informer::Informer(kube::Client& client, kube::ResourceType type, WatcherOptions options)
    : transform_(std::move(options.transform)), watcher_(client, std::move(type), std::move(options), *this) {}

Informer::~Informer() { Stop(); }

void Informer::AddHandler(KeyHandler handler) { handlers_.push_back(std::move(handler)); }

void Informer::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { watcher_.Run(stop_); });
}

void Informer::Stop() {
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(sync_mu_);
  return sync_cv_.wait_for(lock, timeout, [&] { return synced_.load(); });
}

void Informer::Replace(std::vector<Json>&& objects, const std::string&) {
  if (transform_) {
    for (Json& o : objects) transform_(o);
  }
  std::vector<std::string> changed = store_.Replace(std::move(objects));
  {
    std::lock_guard<std::mutex> lock(sync_mu_);
    synced_ = true;
  }
  sync_cv_.notify_all();
  for (const std::string& key : changed) Notify(key);
}

void Informer::Apply(kube::WatchEventType type, Json&& object) {
  if (transform_) transform_(object);
  std::string key = store_.Apply(type, std::move(object));
  if (!key.empty()) Notify(key);
}

void Informer::Notify(const std::string& key) {
  for (const KeyHandler& h : handlers_) h(key);
}

ObjectPtr Informers::Get(const std::string& key) const {
  for (const Informer* i : informers_) {
    if (ObjectPtr obj = i->store().Get(key)) return obj;
  }
  return nullptr;
}

std::vector<ObjectPtr> Informers::List() const {
  std::vector<ObjectPtr> out;
  for (const Informer* i : informers_) {
    std::vector<ObjectPtr> some = i->store().List();
    out.insert(out.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
  }
  return out;
}

}  // namespace gotestrun::runtime
