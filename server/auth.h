// Who may call what. Bearer tokens ("authorization: Bearer <token>") map to a
// role through a token file, one "<token> <role> [name]" per line (# starts
// a comment). Roles: viewer (read), submitter (read, submit, cancel, upload),
// worker (the WorkerService), admin (everything). No token gives
// UNAUTHENTICATED, a token without the needed role PERMISSION_DENIED.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <string>

#include "search/status.h"

namespace kdnas {

enum class Permission { kRead, kSubmit, kWork };
enum class Role { kViewer, kSubmitter, kWorker, kAdmin };

class Authenticator {
 public:
  // Everyone may do everything (the controller warns unless bound to loopback).
  static Authenticator AllowAll();
  static StatusOr<Authenticator> FromFile(const std::string& path);
  static StatusOr<Authenticator> FromText(const std::string& text, const std::string& source);

  Status Authorize(const grpc::ServerContextBase& context, Permission needed) const;
  // The caller's name for logs and rate limits ("anonymous" when open).
  std::string CallerName(const grpc::ServerContextBase& context) const;
  bool open() const { return open_; }

 private:
  struct Entry {
    Role role;
    std::string name;
  };
  const Entry* Find(const grpc::ServerContextBase& context) const;
  bool open_ = false;
  std::map<std::string, Entry> by_token_hash_;  // sha256(token) -> entry
};

bool RoleAllows(Role role, Permission permission);

}  // namespace kdnas
