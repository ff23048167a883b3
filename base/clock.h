// Time is injected so that code that waits or backs off can be tested without sleeping.
#pragma once

#include <chrono>

namespace gotestrun {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;
  virtual ~Clock() = default;
  virtual time_point Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  time_point Now() const override { return std::chrono::steady_clock::now(); }
  static const SystemClock& Get() {
    static const SystemClock clock;
    return clock;
  }
};

// A clock that moves only when told to; for tests.
class ManualClock final : public Clock {
 public:
  time_point Now() const override { return now_; }
  void Advance(duration d) { now_ += d; }

 private:
  time_point now_{};
};

}  // namespace gotestrun
