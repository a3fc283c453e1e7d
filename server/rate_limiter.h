// Per-client rate limiting: a token bucket for each caller (its token's name
// and its host), refilled at `rate_per_second` up to `burst`. A call over the
// limit gets RESOURCE_EXHAUSTED before any work reaches the core.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "search/status.h"
#include "server/clock.h"

namespace kdnas {

class RateLimiter {
 public:
  // rate_per_second 0 turns limiting off.
  RateLimiter(double rate_per_second, double burst, const Clock* clock = RealClock::Get())
      : rate_(rate_per_second), burst_(burst > 0 ? burst : rate_per_second), clock_(clock) {}

  // OK, or RESOURCE_EXHAUSTED naming the client and the limit.
  Status Allow(const std::string& client);
  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t last_ms = 0;
  };
  double rate_;
  double burst_;
  const Clock* clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// "name|host" of a caller, for rate limiting and logs.
std::string ClientKey(const std::string& caller_name, const std::string& peer);

}  // namespace kdnas
