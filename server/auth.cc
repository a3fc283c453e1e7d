#include "server/auth.h"

#include <fstream>
#include <sstream>

#include "search/sha256.h"

namespace kdnas {

bool RoleAllows(Role role, Permission p) {
  switch (role) {
    case Role::kAdmin: return true;
    case Role::kViewer: return p == Permission::kRead;
    case Role::kSubmitter: return p == Permission::kRead || p == Permission::kSubmit;
    case Role::kWorker: return p == Permission::kWork;
  }
  return false;
}

Authenticator Authenticator::AllowAll() {
  Authenticator a;
  a.open_ = true;
  return a;
}

StatusOr<Authenticator> Authenticator::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("--token-file: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return FromText(text.str(), path);
}

StatusOr<Authenticator> Authenticator::FromText(const std::string& text, const std::string& source) {
  Authenticator a;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    auto hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    std::istringstream fields(line);
    std::string token, role, name;
    if (!(fields >> token)) continue;
    const std::string where = source + ":" + std::to_string(number);
    if (!(fields >> role)) return InvalidArgument(where + ": expected \"<token> <role> [name]\"");
    fields >> name;
    Role r;
    if (role == "admin") r = Role::kAdmin;
    else if (role == "submitter") r = Role::kSubmitter;
    else if (role == "worker") r = Role::kWorker;
    else if (role == "viewer") r = Role::kViewer;
    else return InvalidArgument(where + ": unknown role \"" + role + "\" (admin, submitter, worker, viewer)");
    if (token.size() < 8) return InvalidArgument(where + ": tokens must be at least 8 characters");
    a.by_token_hash_[Sha256Hex(token)] = {r, name.empty() ? role : name};
  }
  if (a.by_token_hash_.empty()) return InvalidArgument(source + ": no tokens");
  return a;
}

const Authenticator::Entry* Authenticator::Find(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return nullptr;
  std::string value(it->second.data(), it->second.size());
  const std::string prefix = "Bearer ";
  if (value.rfind(prefix, 0) != 0) return nullptr;
  // Tokens are compared by hash, so lookup time says nothing about the token.
  auto entry = by_token_hash_.find(Sha256Hex(value.substr(prefix.size())));
  return entry == by_token_hash_.end() ? nullptr : &entry->second;
}

Status Authenticator::Authorize(const grpc::ServerContextBase& context, Permission needed) const {
  if (open_) return Status::Ok();
  const Entry* entry = Find(context);
  if (entry == nullptr) {
    return Unauthenticated("missing or unknown bearer token (metadata \"authorization: Bearer <token>\")");
  }
  if (!RoleAllows(entry->role, needed)) {
    static const char* kNeeded[] = {"viewer", "submitter", "worker"};
    return PermissionDenied("the token of \"" + entry->name + "\" lacks the " +
                            kNeeded[static_cast<int>(needed)] + " permission");
  }
  return Status::Ok();
}

std::string Authenticator::CallerName(const grpc::ServerContextBase& context) const {
  if (open_) return "anonymous";
  const Entry* entry = Find(context);
  return entry == nullptr ? "unknown" : entry->name;
}

}  // namespace kdnas
