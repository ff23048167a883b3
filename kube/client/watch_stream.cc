#include "kube/client/watch_stream.h"

#include <nlohmann/json.hpp>

#include "kube/client/errors.h"

namespace gotestrun::kube {

StatusOr<WatchEvent> ParseWatchLine(std::string_view line) {
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return DataLossError("watch: malformed event: " + std::string(line.substr(0, 120)));
  }
  const std::string& type = j["type"].get_ref<const std::string&>();
  WatchEvent ev{WatchEventType::kError, Json()};
  if (type == "ADDED") ev.type = WatchEventType::kAdded;
  else if (type == "MODIFIED") ev.type = WatchEventType::kModified;
  else if (type == "DELETED") ev.type = WatchEventType::kDeleted;
  else if (type == "BOOKMARK") ev.type = WatchEventType::kBookmark;
  else if (type == "ERROR") ev.type = WatchEventType::kError;
  else return DataLossError("watch: unknown event type '" + type.substr(0, 120) + "'");
  if (j.contains("object")) ev.object = std::move(j["object"]);
  return ev;
}

Status WatchErrorStatus(const Json& o) {
  // find(), not operator[]: a missing key on a const object is undefined behaviour.
  auto field = [&](const char* key) -> const Json* {
    if (!o.is_object()) return nullptr;
    auto it = o.find(key);
    return it == o.end() ? nullptr : &*it;
  };
  const Json* code = field("code");
  const Json* reason = field("reason");
  const Json* message = field("message");
  int c = 500;
  if (code != nullptr && code->is_number_integer()) {
    int64_t v = code->get<int64_t>();
    if (v >= 100 && v <= 599) c = static_cast<int>(v);
  }
  return StatusFromStatusObject(c, reason != nullptr && reason->is_string() ? reason->get<std::string>() : "",
                                message != nullptr && message->is_string() ? message->get<std::string>() : "");
}

Status WatchStreamDecoder::Feed(std::string_view bytes, const std::function<bool(WatchEvent&&)>& on_event) {
  if (stopped_) return Status::Ok();
  // A line is decoded from the input where it is whole there, and only the tail that
  // may continue in the next chunk is kept, so the copy never exceeds one event.
  auto take = [&](std::string_view line) -> Status {
    if (line.empty()) return Status::Ok();
    StatusOr<WatchEvent> ev = ParseWatchLine(line);
    if (!ev.ok()) {
      stopped_ = true;
      return ev.status();
    }
    if (!on_event(std::move(*ev))) stopped_ = true;
    return Status::Ok();
  };
  while (!bytes.empty() && !stopped_) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) break;
    if (pending_.size() + nl > max_event_bytes_) break;
    Status s;
    if (pending_.empty()) {
      s = take(bytes.substr(0, nl));
    } else {
      pending_.append(bytes.data(), nl);
      s = take(pending_);
      pending_.clear();
    }
    if (!s.ok()) return s;
    bytes.remove_prefix(nl + 1);
  }
  if (stopped_) return Status::Ok();
  if (pending_.size() + std::min(bytes.size(), bytes.find('\n')) > max_event_bytes_) {
    stopped_ = true;
    pending_.clear();
    return DataLossError("watch: an event is larger than " + std::to_string(max_event_bytes_) + " bytes");
  }
  pending_.append(bytes.data(), bytes.size());
  return Status::Ok();
}

}  // namespace gotestrun::kube
