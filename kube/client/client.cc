#include "kube/client/client.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <csignal>

#include "base/files.h"
#include "base/metrics.h"
#include "kube/client/errors.h"
#include "kube/client/watch_stream.h"

namespace gotestrun::kube {

// ---- StopSignal ----

void StopSignal::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_.exchange(true)) return;
  // Called under the lock so that once RemoveOnStop returns, its callback is not
  // running and whatever it points to may be destroyed.
  for (auto& [id, fn] : callbacks_) fn();
  cv_.notify_all();
}

bool StopSignal::WaitFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, d, [&] { return stopped_.load(); });
}

int StopSignal::OnStop(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) fn();
  int id = next_id_++;
  callbacks_.emplace_back(id, std::move(fn));
  return id;
}

void StopSignal::RemoveOnStop(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(callbacks_, [&](const auto& c) { return c.first == id; });
}

// ---- TLS material, parsed once ----

struct Client::TlsMaterial {
  std::vector<X509*> ca;
  X509* client_cert = nullptr;
  EVP_PKEY* client_key = nullptr;
  ~TlsMaterial() {
    for (X509* c : ca) X509_free(c);
    X509_free(client_cert);
    EVP_PKEY_free(client_key);
  }
};

namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "no details";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemBio(const std::string& pem) { return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

// The numeric address of `host` (httplib's address map takes only numbers): the host
// itself when it is one, else the first address it resolves to. Unresolved, the host
// is kept and the connection fails with the resolver's error as it would without a
// server name.
std::string ServerAddress(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return host;
  char text[INET6_ADDRSTRLEN] = {};
  const void* addr = found->ai_family == AF_INET6
                         ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr)
                         : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr);
  std::string out = inet_ntop(found->ai_family, addr, text, sizeof text) != nullptr ? text : host;
  freeaddrinfo(found);
  return out;
}

constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kRequestTimeout = std::chrono::seconds(60);
constexpr size_t kMaxPooledConnections = 8;
constexpr size_t kMaxErrorBody = 64 << 10;
constexpr auto kTokenRefresh = std::chrono::seconds(60);

}  // namespace

// ---- Client ----

Client::Client(ClusterConfig config) : config_(std::move(config)) {}
Client::~Client() = default;

StatusOr<std::unique_ptr<Client>> Client::Create(ClusterConfig config) {
  // OpenSSL writes to sockets with write(2), so a peer that went away (a watch we
  // stop, a restarted server) raises SIGPIPE, whose default action ends the process.
  // Errors from write are handled; the signal is never wanted.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { ::signal(SIGPIPE, SIG_IGN); });
  std::unique_ptr<Client> client(new Client(std::move(config)));
  GTR_RETURN_IF_ERROR(client->Init());
  return client;
}

Status Client::Init() {
  tls_ = std::make_unique<TlsMaterial>();
  if (!config_.ca_pem.empty()) {
    BioPtr bio = MemBio(config_.ca_pem);
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) tls_->ca.push_back(cert);
    ERR_clear_error();  // the loop ends on a "no start line" error
    if (tls_->ca.empty()) return InvalidArgumentError("the CA bundle holds no PEM certificate");
  }
  if (!config_.client_cert_pem.empty()) {
    BioPtr cert = MemBio(config_.client_cert_pem);
    tls_->client_cert = PEM_read_bio_X509(cert.get(), nullptr, nullptr, nullptr);
    if (tls_->client_cert == nullptr)
      return InvalidArgumentError("client certificate is not a PEM certificate: " + OpenSslError());
    BioPtr key = MemBio(config_.client_key_pem);
    tls_->client_key = PEM_read_bio_PrivateKey(key.get(), nullptr, nullptr, nullptr);
    if (tls_->client_key == nullptr)
      return InvalidArgumentError("client key is not a PEM private key: " + OpenSslError());
    if (X509_check_private_key(tls_->client_cert, tls_->client_key) != 1) {
      return InvalidArgumentError("client key does not match the client certificate");
    }
  }
  if (!config_.token_file.empty()) {
    StatusOr<std::string> t = ReadFile(config_.token_file, 1 << 20);
    if (!t.ok()) return t.status().Annotate("bearer token file");
  }
  return Status::Ok();
}

std::unique_ptr<httplib::SSLClient> Client::NewConnection(std::chrono::seconds read_timeout) const {
  // With tls-server-name the client is made for that name, so that it is the name sent
  // in SNI and the one the certificate is checked against, and the name is mapped to
  // the server's address for the connection itself.
  const std::string& name = config_.tls_server_name.empty() ? config_.host : config_.tls_server_name;
  std::unique_ptr<httplib::SSLClient> c;
  if (tls_->client_cert != nullptr) {
    c = std::make_unique<httplib::SSLClient>(name, config_.port, tls_->client_cert, tls_->client_key);
  } else {
    c = std::make_unique<httplib::SSLClient>(name, config_.port);
  }
  if (name != config_.host) c->set_hostname_addr_map({{name, ServerAddress(config_.host)}});
  if (!tls_->ca.empty()) {
    // The client takes ownership of the store, so each connection gets its own.
    X509_STORE* store = X509_STORE_new();
    for (X509* cert : tls_->ca) X509_STORE_add_cert(store, cert);
    c->set_ca_cert_store(store);
  }
  c->enable_server_certificate_verification(true);
  c->set_connection_timeout(kConnectTimeout);
  c->set_read_timeout(read_timeout);
  c->set_write_timeout(kRequestTimeout);
  c->set_keep_alive(true);
  // As Go's net package does: a request goes out as its headers then its body, and
  // with Nagle's algorithm the body waits for the server's delayed ACK of the headers,
  // ~40 ms on every POST, PUT and PATCH.
  c->set_tcp_nodelay(true);
  return c;
}

std::unique_ptr<httplib::SSLClient> Client::Acquire() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return NewConnection(kRequestTimeout);
}

void Client::Release(std::unique_ptr<httplib::SSLClient> conn) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (idle_.size() < kMaxPooledConnections) idle_.push_back(std::move(conn));
}

std::string Client::BearerToken() {
  if (config_.token_file.empty()) return config_.token;
  std::lock_guard<std::mutex> lock(token_mu_);
  auto now = std::chrono::steady_clock::now();
  if (token_.empty() || now - token_read_ >= kTokenRefresh) {
    if (StatusOr<std::string> t = ReadFile(config_.token_file, 1 << 20); t.ok()) {
      std::string v = std::move(*t);
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.pop_back();
      token_ = std::move(v);
      token_read_ = now;
    }
    // On a read error the last token stays in use; the server will say if it expired.
  }
  return token_;
}

namespace {
httplib::Headers BaseHeaders(const std::string& token) {
  httplib::Headers h{{"Accept", "application/json"}, {"User-Agent", "gotestrun-operator"}};
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  return h;
}
// client-go's rest_client_requests_total: every request by HTTP code ("<error>" when
// none came back), method and API server.
void CountRequest(const ClusterConfig& config, const std::string& method, int http_status) {
  static metrics::CounterFamily& requests = metrics::Registry::Default().Counter(
      "rest_client_requests_total", "Number of HTTP requests, partitioned by status code, method, and host.",
      {"code", "method", "host"});
  requests
      .With({http_status > 0 ? std::to_string(http_status) : "<error>", method,
             config.host + ":" + std::to_string(config.port)})
      .Inc();
}
}  // namespace

StatusOr<std::string> Client::Send(const std::string& method, const std::string& path, const std::string& body,
                                   const std::string& content_type) {
  httplib::Headers headers = BaseHeaders(BearerToken());
  auto conn = Acquire();
  httplib::Result r = [&] {
    if (method == "GET") return conn->Get(path, headers);
    if (method == "POST") return conn->Post(path, headers, body, content_type);
    if (method == "PUT") return conn->Put(path, headers, body, content_type);
    if (method == "PATCH") return conn->Patch(path, headers, body, content_type);
    return conn->Delete(path, headers, body, content_type);
  }();
  CountRequest(config_, method, r ? r->status : 0);
  if (!r) return StatusFromTransport(static_cast<int>(r.error()), method + " " + path);
  Release(std::move(conn));
  if (r->status < 200 || r->status > 299) return StatusFromHttp(r->status, r->body);
  return std::move(r->body);
}

StatusOr<Json> Client::SendJson(const std::string& method, const std::string& path, const Json& body,
                                const std::string& content_type) {
  StatusOr<std::string> text = Send(method, path, body.is_null() ? std::string() : body.dump(), content_type);
  if (!text.ok()) return text.status();
  Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return DataLossError(method + " " + path + ": the response is not JSON");
  return j;
}

StatusOr<Json> Client::Get(const ResourceType& type, std::string_view ns, std::string_view name) {
  return SendJson("GET", type.ObjectPath(ns, name), Json(), "");
}

StatusOr<std::string> Client::GetRaw(const std::string& path) { return Send("GET", path, "", ""); }

StatusOr<bool> Client::Serves(const ResourceType& type) {
  StatusOr<std::string> list = GetRaw(type.GroupVersionPath());
  if (!list.ok()) {
    if (list.status().code() == StatusCode::kNotFound) return false;
    return list.status();
  }
  Json j = Json::parse(*list, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("resources") || !j["resources"].is_array()) return false;
  for (const Json& r : j["resources"]) {
    if (r.is_object() && r.value("name", "") == type.plural) return true;
  }
  return false;
}

StatusOr<ObjectList> Client::List(const ResourceType& type, std::string_view ns, const ListOptions& options) {
  StatusOr<Json> j = SendJson("GET", type.CollectionPath(ns) + ListQuery(options), Json(), "");
  if (!j.ok()) return j.status();
  if (!j->is_object() || !(*j)["items"].is_array())
    return DataLossError("list " + type.Name() + ": no items in the response");
  ObjectList out;
  out.items = std::move((*j)["items"].get_ref<Json::array_t&>());
  out.resource_version = MetaString(*j, "resourceVersion");
  out.continue_token = MetaString(*j, "continue");
  return out;
}

StatusOr<ObjectList> Client::ListAll(const ResourceType& type, std::string_view ns, ListOptions options,
                                     int64_t page_size) {
  options.limit = page_size;
  const ListOptions first = options;
  ObjectList all;
  bool restarted = false;
  for (;;) {
    StatusOr<ObjectList> page = List(type, ns, options);
    if (!page.ok()) {
      // The continue token outlived the snapshot it points into: start over, once.
      if (page.status().code() == StatusCode::kOutOfRange && !options.continue_token.empty() && !restarted) {
        restarted = true;
        options = first;
        all = ObjectList();
        continue;
      }
      return page.status();
    }
    if (all.items.empty()) {
      all.items = std::move(page->items);
    } else {
      all.items.insert(all.items.end(), std::make_move_iterator(page->items.begin()),
                       std::make_move_iterator(page->items.end()));
    }
    all.resource_version = page->resource_version;
    if (page->continue_token.empty()) return all;
    options.continue_token = page->continue_token;
    // Later pages come from the first page's snapshot; the version may not be repeated.
    options.resource_version.clear();
    options.resource_version_match.clear();
  }
}

StatusOr<Json> Client::Create(const ResourceType& type, std::string_view ns, const Json& object) {
  return SendJson("POST", type.CollectionPath(ns), object, "application/json");
}

namespace {
std::string SubresourceSuffix(Subresource sub) { return sub == Subresource::kStatus ? "/status" : ""; }

StatusOr<std::pair<std::string, std::string>> NamespaceAndName(const Json& object) {
  std::string name = MetaString(object, "name");
  if (name.empty()) return InvalidArgumentError("object has no metadata.name");
  return std::make_pair(MetaString(object, "namespace"), name);
}
}  // namespace

StatusOr<Json> Client::Update(const ResourceType& type, const Json& object, Subresource sub) {
  auto nn = NamespaceAndName(object);
  if (!nn.ok()) return nn.status();
  return SendJson("PUT", type.ObjectPath(nn->first, nn->second) + SubresourceSuffix(sub), object, "application/json");
}

StatusOr<Json> Client::MergePatch(const ResourceType& type, std::string_view ns, std::string_view name,
                                  const Json& patch, Subresource sub) {
  return SendJson("PATCH", type.ObjectPath(ns, name) + SubresourceSuffix(sub), patch, "application/merge-patch+json");
}

StatusOr<Json> Client::CreateSubresource(const ResourceType& type, std::string_view ns, std::string_view name,
                                         std::string_view subresource, const Json& body) {
  return SendJson("POST", type.ObjectPath(ns, name) + "/" + std::string(subresource), body, "application/json");
}

Status Client::Delete(const ResourceType& type, std::string_view ns, std::string_view name,
                      const DeleteOptions& options) {
  Json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (options.preconditions.uid) body["preconditions"]["uid"] = *options.preconditions.uid;
  if (options.preconditions.resource_version) {
    body["preconditions"]["resourceVersion"] = *options.preconditions.resource_version;
  }
  if (options.propagation_policy) body["propagationPolicy"] = *options.propagation_policy;
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  StatusOr<std::string> r = Send("DELETE", type.ObjectPath(ns, name), body.dump(), "application/json");
  return r.status();
}

Status Client::Watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                     const std::function<bool(WatchEvent&&)>& on_event, StopSignal* stop) {
  if (stop != nullptr && stop->stopped()) return CancelledError("watch stopped");
  const std::string path = type.CollectionPath(ns) + WatchQuery(options);
  // The server closes the watch after timeoutSeconds; the read timeout only catches a
  // connection that died without a word (bookmarks arrive about once a minute).
  auto conn = NewConnection(std::chrono::seconds(std::max(options.timeout_seconds, 60) + 30));
  conn->set_keep_alive(false);
  httplib::SSLClient* raw = conn.get();
  int stop_id = stop != nullptr ? stop->OnStop([raw] { raw->stop(); }) : -1;

  int http_status = 0;
  WatchStreamDecoder decoder;
  std::string error_body;
  Status result;
  bool ended_by_us = false;
  auto stopped = [&] { return stop != nullptr && stop->stopped(); };

  httplib::Result r = conn->Get(
      path, BaseHeaders(BearerToken()),
      [&](const httplib::Response& response) {
        http_status = response.status;
        // Checked here too: a Stop() that came before the socket existed had nothing to close.
        return !stopped();
      },
      [&](const char* data, size_t n) {
        if (stopped()) return false;
        if (http_status != 200) {
          if (error_body.size() < kMaxErrorBody)
            error_body.append(data, std::min(n, kMaxErrorBody - error_body.size()));
          return true;
        }
        Status fed = decoder.Feed(std::string_view(data, n), [&](WatchEvent&& ev) {
          if (ev.type == WatchEventType::kError) {
            result = WatchErrorStatus(ev.object);
            return false;
          }
          if (!on_event(std::move(ev))) {
            ended_by_us = true;
            return false;
          }
          return true;
        });
        if (!fed.ok()) result = fed;
        return !decoder.stopped();
      });
  if (stop != nullptr) stop->RemoveOnStop(stop_id);
  CountRequest(config_, "GET", http_status);

  if (stopped()) return CancelledError("watch stopped");
  if (!result.ok() || ended_by_us) return result;
  if (!r) return StatusFromTransport(static_cast<int>(r.error()), "watch " + type.Name());
  if (http_status != 200) return StatusFromHttp(http_status, error_body);
  return Status::Ok();
}

}  // namespace gotestrun::kube
