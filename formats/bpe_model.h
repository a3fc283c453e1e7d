// The BPE model of a tokenizer: a vocabulary, ranked merges, and the merge
// loop Hugging Face runs on each pre-tokenized piece (models/bpe): the piece
// starts as one symbol per character; the adjacent pair of lowest merge rank
// (leftmost on ties) is merged until no pair has a merge. Options:
// ignore_merges (a piece that is itself in the vocabulary is one token,
// Llama-3), unk_token and fuse_unk (a character outside the vocabulary; with
// no unk_token it is dropped, as in HF). Results are cached per piece.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "search/status.h"

namespace kdnas {

struct BpeModelOptions {
  bool ignore_merges = false;
  std::optional<std::string> unk_token;
  bool fuse_unk = false;
  // Pieces cached at most (0: no cache), and the longest piece cached.
  size_t cache_entries = 1 << 18;
  size_t cache_max_piece_bytes = 256;
};

class BpeModel {
 public:
  // `merges` in rank order, each a pair of vocabulary tokens whose
  // concatenation is in the vocabulary. A pair listed twice takes its last
  // rank, as in HF. Errors (INVALID_ARGUMENT, with `where` as the prefix):
  // a merge naming a token outside the vocabulary, an unk_token outside it.
  static StatusOr<std::unique_ptr<BpeModel>> Create(
      std::unordered_map<std::string, int32_t> vocab,
      const std::vector<std::pair<std::string, std::string>>& merges, BpeModelOptions options,
      const std::string& where);

  // Appends the ids of `piece` to *ids.
  void Tokenize(std::string_view piece, std::vector<int32_t>* ids) const;

  std::optional<int32_t> IdOf(std::string_view token) const;
  // The token of `id`, or nullptr.
  const std::string* TokenOf(int32_t id) const;
  // Entries in the vocabulary, and its largest id (-1 when empty).
  size_t size() const { return vocab_.size(); }
  int32_t max_id() const { return max_id_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct MergeRule {
    int32_t rank;
    int32_t id;
  };

  BpeModel() = default;
  void MergePiece(std::string_view piece, std::vector<int32_t>* ids) const;
  const MergeRule* FindMerge(int32_t left, int32_t right) const;

  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> vocab_;
  std::unordered_map<int32_t, std::string> tokens_;
  std::unordered_map<uint64_t, MergeRule> merges_;
  int32_t max_id_ = -1;
  std::optional<int32_t> unk_id_;
  BpeModelOptions options_;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> cache_;
};

}  // namespace kdnas
