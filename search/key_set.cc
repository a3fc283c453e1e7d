#include "search/key_set.h"

namespace kdnas {
namespace {

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

}  // namespace

bool KeySet::Bloom::Contains(uint64_t hash) const {
  const uint64_t n = bits.size() * 64;
  const uint64_t h1 = Mix(hash), h2 = Mix(hash ^ 0x9e3779b97f4a7c15ULL) | 1;
  for (int i = 0; i < hashes; ++i) {
    uint64_t bit = (h1 + static_cast<uint64_t>(i) * h2) % n;
    if ((bits[bit / 64] & (uint64_t{1} << (bit % 64))) == 0) return false;
  }
  return true;
}

void KeySet::Bloom::Add(uint64_t hash) {
  const uint64_t n = bits.size() * 64;
  const uint64_t h1 = Mix(hash), h2 = Mix(hash ^ 0x9e3779b97f4a7c15ULL) | 1;
  for (int i = 0; i < hashes; ++i) {
    uint64_t bit = (h1 + static_cast<uint64_t>(i) * h2) % n;
    bits[bit / 64] |= uint64_t{1} << (bit % 64);
  }
  ++count;
}

void KeySet::AddToBlooms(uint64_t hash) {
  if (blooms_.empty() || blooms_.back().count >= blooms_.back().capacity) {
    // Each layer holds twice the last; 10 bits a member, 7 hashes: ~0.8%.
    Bloom b;
    b.capacity = blooms_.empty() ? 2 * kExactLimit : 2 * blooms_.back().capacity;
    b.bits.assign((b.capacity * 10 + 63) / 64, 0);
    blooms_.push_back(std::move(b));
  }
  blooms_.back().Add(hash);
}

bool KeySet::Contains(uint64_t hash) const {
  if (exact_.count(hash) > 0) return true;
  for (const Bloom& b : blooms_) {
    if (b.Contains(hash)) return true;
  }
  return false;
}

bool KeySet::Insert(uint64_t hash) {
  if (Contains(hash)) return false;
  if (blooms_.empty() && exact_.size() < kExactLimit) {
    exact_.insert(hash);
  } else {
    if (blooms_.empty()) {
      // Move the exact members into the first filter and free the table.
      for (uint64_t h : exact_) AddToBlooms(h);
      std::unordered_set<uint64_t>().swap(exact_);
    }
    AddToBlooms(hash);
  }
  ++size_;
  return true;
}

}  // namespace kdnas
