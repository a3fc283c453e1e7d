// A set of 64-bit hashes that never forgets a member: exact up to 65,536
// members, then a growing stack of Bloom filters (about 1.5 bytes a member,
// under 1% false positives). A false positive only makes the search skip a
// candidate it never tried; a member is never reported absent, so no
// candidate is trained twice. Memory stays nearly flat in million-trial jobs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_set>
#include <vector>

namespace kdnas {

class KeySet {
 public:
  static constexpr size_t kExactLimit = 1 << 16;

  // Adds `hash`; false if it was (or may have been) there already.
  bool Insert(uint64_t hash);
  bool Contains(uint64_t hash) const;
  uint64_t size() const { return size_; }

 private:
  struct Bloom {
    std::vector<uint64_t> bits;
    uint64_t capacity = 0;
    uint64_t count = 0;
    int hashes = 7;
    bool Contains(uint64_t hash) const;
    void Add(uint64_t hash);
  };
  void AddToBlooms(uint64_t hash);

  std::unordered_set<uint64_t> exact_;
  std::vector<Bloom> blooms_;
  uint64_t size_ = 0;
};

}  // namespace kdnas
