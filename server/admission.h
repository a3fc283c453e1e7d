// What every RPC passes before it reaches the core: the caller's token must
// grant the permission (auth.h), and the caller must be within its rate
// limit (rate_limiter.h).
#pragma once

#include <grpcpp/grpcpp.h>

#include "server/auth.h"
#include "server/rate_limiter.h"

namespace kdnas {

class Admission {
 public:
  Admission(const Authenticator* auth, RateLimiter* limiter) : auth_(auth), limiter_(limiter) {}
  Status Admit(const grpc::ServerContextBase& context, Permission needed) const {
    KDNAS_RETURN_IF_ERROR(auth_->Authorize(context, needed));
    if (limiter_ == nullptr || !limiter_->enabled()) return Status::Ok();
    return limiter_->Allow(ClientKey(auth_->CallerName(context), context.peer()));
  }

 private:
  const Authenticator* auth_;
  RateLimiter* limiter_;
};

}  // namespace kdnas
