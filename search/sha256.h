// SHA-256 (FIPS 180-4), for content-addressed blobs and artifacts. Lives in
// the std-only base library so the controller, the worker and the CLI share
// one implementation.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "search/status.h"

namespace kdnas {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // The digest as 64 lower-case hex characters. Call once.
  std::string HexDigest();

 private:
  void Block(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string Sha256Hex(std::string_view data);
// Hashes a whole file; NOT_FOUND if it cannot be read.
StatusOr<std::string> Sha256File(const std::string& path);
// True for 64 lower-case hex characters (safe to use in a file name).
bool IsSha256Hex(std::string_view text);

}  // namespace kdnas
