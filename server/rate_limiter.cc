#include "server/rate_limiter.h"

#include <algorithm>
#include <cstdio>

namespace kdnas {

Status RateLimiter::Allow(const std::string& client) {
  if (rate_ <= 0) return Status::Ok();
  const int64_t now = clock_->NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  // Buckets of clients that went quiet are full again: forget them.
  if (buckets_.size() > 100000) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = (now - it->second.last_ms) / 1000.0 * rate_ >= burst_ ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, fresh] = buckets_.try_emplace(client, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(burst_, b.tokens + static_cast<double>(now - b.last_ms) / 1000.0 * rate_);
    b.last_ms = now;
  }
  if (b.tokens < 1) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.0f requests/s (burst %.0f)", rate_, burst_);
    return ResourceExhausted("rate limit of " + std::string(buf) + " exceeded for " + client);
  }
  b.tokens -= 1;
  return Status::Ok();
}

std::string ClientKey(const std::string& caller_name, const std::string& peer) {
  // "ipv4:127.0.0.1:5000" / "ipv6:[::1]:5000" -> the host part.
  std::string host = peer;
  if (auto colon = host.find(':'); colon != std::string::npos) host = host.substr(colon + 1);
  if (auto port = host.rfind(':'); port != std::string::npos) host = host.substr(0, port);
  return caller_name + "|" + host;
}

}  // namespace kdnas
