// A byte trie over a vocabulary's pieces: every piece that is a prefix of a
// text, in order of increasing length, in time linear in the longest match.
// The SentencePiece reader uses it for the Unigram lattice and for
// user-defined symbols (what libsentencepiece does with a Darts double array).
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kdnas {

class PieceTrie {
 public:
  PieceTrie() : values_(1, -1) {}

  // Maps `piece` (non-empty) to `value` >= 0; a later insert of the same
  // piece replaces the value.
  void Insert(std::string_view piece, int32_t value) {
    uint32_t node = 0;
    for (unsigned char c : piece) {
      const uint64_t key = (uint64_t{node} << 8) | c;
      auto it = children_.find(key);
      if (it == children_.end()) {
        it = children_.emplace(key, static_cast<uint32_t>(values_.size())).first;
        values_.push_back(-1);
      }
      node = it->second;
    }
    values_[node] = value;
  }

  bool empty() const { return values_.size() == 1; }

  // Calls f(length_bytes, value) for each piece that is a prefix of `text`,
  // shortest first.
  template <typename F>
  void ForEachPrefix(std::string_view text, F&& f) const {
    uint32_t node = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      const uint64_t key = (uint64_t{node} << 8) | static_cast<unsigned char>(text[i]);
      auto it = children_.find(key);
      if (it == children_.end()) return;
      node = it->second;
      if (values_[node] >= 0) f(i + 1, values_[node]);
    }
  }

  // The length of the longest piece that is a prefix of `text` (0: none).
  size_t LongestPrefix(std::string_view text) const {
    size_t longest = 0;
    ForEachPrefix(text, [&](size_t length, int32_t) { longest = length; });
    return longest;
  }

 private:
  std::unordered_map<uint64_t, uint32_t> children_;  // (node << 8 | byte) -> child
  std::vector<int32_t> values_;                      // per node; -1: no piece ends here
};

}  // namespace kdnas
