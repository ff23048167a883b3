#include "controllers/gotestrun/event_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gotestrun::controllers {
namespace {

// Records the Events written; while closed, a write waits (an API server that is slow).
class GatedWriter final : public ObjectWriter {
 public:
  StatusOr<Json> Create(const kube::ResourceType&, const std::string& ns, const Json& object) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++started_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    written_.push_back(ns + "/" + object.value("reason", ""));
    if (object.value("reason", "") == "Rejected") return Status(StatusCode::kInvalidArgument, "rejected");
    return object;
  }
  StatusOr<Json> Update(const kube::ResourceType&, const Json& object) override { return object; }
  Status Delete(const kube::ResourceType&, const std::string&, const std::string&) override { return Status::Ok(); }

  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void WaitStarted(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return started_ >= n; });
  }
  std::vector<std::string> written() {
    std::lock_guard<std::mutex> lock(mu_);
    return written_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int started_ = 0;
  std::vector<std::string> written_;
};

Json Event(const std::string& reason) { return {{"reason", reason}, {"involvedObject", {{"name", "run"}}}}; }

TEST(EventQueue, WritesInOrderAndFlushWaitsForTheLast) {
  GatedWriter writer;
  writer.Open();
  EventQueue events(writer);
  events.Post("ns", Event("Planned"));
  events.Post("ns", Event("Rejected"));  // a failed write is logged, the next goes on
  events.Post("other", Event("Succeeded"));
  events.Flush();
  EXPECT_EQ(writer.written(), (std::vector<std::string>{"ns/Planned", "ns/Rejected", "other/Succeeded"}));
  EXPECT_EQ(events.dropped(), 0u);
}

TEST(EventQueue, BeyondItsBoundEventsAreDroppedNotQueued) {
  GatedWriter writer;
  EventQueue events(writer, /*capacity=*/2);
  events.Post("ns", Event("A"));
  writer.WaitStarted(1);  // A is being written and the API server is slow
  events.Post("ns", Event("B"));
  events.Post("ns", Event("C"));
  events.Post("ns", Event("D"));  // the queue holds B and C
  events.Post("ns", Event("E"));
  EXPECT_EQ(events.dropped(), 2u);
  writer.Open();
  events.Flush();
  EXPECT_EQ(writer.written(), (std::vector<std::string>{"ns/A", "ns/B", "ns/C"}));
  events.Post("ns", Event("F"));  // room again
  events.Flush();
  EXPECT_EQ(writer.written().back(), "ns/F");
  EXPECT_EQ(events.dropped(), 2u);
}

TEST(EventQueue, StoppingDropsWhatIsQueuedAndFinishesTheWriteUnderWay) {
  GatedWriter writer;
  std::thread open;
  {
    EventQueue events(writer);
    events.Post("ns", Event("A"));
    writer.WaitStarted(1);
    events.Post("ns", Event("B"));
    open = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      writer.Open();
    });
  }  // the destructor waits for A, drops B
  open.join();
  EXPECT_EQ(writer.written(), (std::vector<std::string>{"ns/A"}));
}

}  // namespace
}  // namespace gotestrun::controllers
