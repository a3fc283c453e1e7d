// SHA-256 (FIPS 180-4), for content-addressed blobs and artifacts: OpenSSL's
// EVP digest behind a small interface, in the base library so the controller,
// the worker and the CLI share one implementation.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "search/status.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace kdnas {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // The digest as 64 lower-case hex characters. Call once.
  std::string HexDigest();

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

std::string Sha256Hex(std::string_view data);
// Hashes a whole file; NOT_FOUND if it cannot be read.
StatusOr<std::string> Sha256File(const std::string& path);
// True for 64 lower-case hex characters (safe to use in a file name).
bool IsSha256Hex(std::string_view text);

}  // namespace kdnas
