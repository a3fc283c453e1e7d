#include "formats/bpe_model.h"

#include <queue>

#include "formats/utf8.h"

namespace kdnas {
namespace {

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(
    std::unordered_map<std::string, int32_t> vocab,
    const std::vector<std::pair<std::string, std::string>>& merges, BpeModelOptions options,
    const std::string& where) {
  std::unique_ptr<BpeModel> model(new BpeModel());
  model->options_ = std::move(options);
  for (auto& [token, id] : vocab) {
    model->max_id_ = std::max(model->max_id_, id);
    model->tokens_[id] = token;  // two tokens with one id: either decodes (HF keeps one too)
    model->vocab_.emplace(token, id);
  }
  const auto id_of = [&](const std::string& token) -> StatusOr<int32_t> {
    const auto it = model->vocab_.find(token);
    if (it == model->vocab_.end()) {
      return InvalidArgument(where + ".merges: \"" + token + "\" is not in the vocabulary");
    }
    return it->second;
  };
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    KDNAS_ASSIGN_OR_RETURN(const int32_t a, id_of(left));
    KDNAS_ASSIGN_OR_RETURN(const int32_t b, id_of(right));
    KDNAS_ASSIGN_OR_RETURN(const int32_t merged, id_of(left + right));
    if (rank > 0x7FFFFFFF) return InvalidArgument(where + ".merges: too many merges");
    model->merges_[PairKey(a, b)] = {static_cast<int32_t>(rank), merged};
  }
  if (model->options_.unk_token) {
    const auto it = model->vocab_.find(*model->options_.unk_token);
    if (it == model->vocab_.end()) {
      return InvalidArgument(where + ".unk_token \"" + *model->options_.unk_token +
                             "\" is not in the vocabulary");
    }
    model->unk_id_ = it->second;
  }
  return model;
}

std::optional<int32_t> BpeModel::IdOf(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::TokenOf(int32_t id) const {
  const auto it = tokens_.find(id);
  return it == tokens_.end() ? nullptr : &it->second;
}

const BpeModel::MergeRule* BpeModel::FindMerge(int32_t left, int32_t right) const {
  const auto it = merges_.find(PairKey(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::Tokenize(std::string_view piece, std::vector<int32_t>* ids) const {
  if (piece.empty()) return;
  if (options_.ignore_merges) {
    if (const auto it = vocab_.find(piece); it != vocab_.end()) {
      ids->push_back(it->second);
      return;
    }
  }
  const bool cacheable =
      options_.cache_entries > 0 && piece.size() <= options_.cache_max_piece_bytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (const auto it = cache_.find(piece); it != cache_.end()) {
      ids->insert(ids->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = ids->size();
  MergePiece(piece, ids);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() < options_.cache_entries) {
      cache_.emplace(std::string(piece), std::vector<int32_t>(ids->begin() + first, ids->end()));
    }
  }
}

void BpeModel::MergePiece(std::string_view piece, std::vector<int32_t>* ids) const {
  // One symbol per character (characters outside the vocabulary become the
  // unk token, fused when fuse_unk, or are dropped without one).
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  bool last_was_unk = false;
  const auto add = [&](int32_t id) {
    const auto n = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, n - 1, -1, true});
    if (n > 0) symbols[n - 1].next = n;
  };
  for (size_t i = 0; i < piece.size();) {
    char32_t cp;
    size_t len = DecodeUtf8(piece, i, &cp);
    if (len == 0) len = 1;
    const auto it = vocab_.find(piece.substr(i, len));
    i += len;
    if (it != vocab_.end()) {
      add(it->second);
      last_was_unk = false;
    } else if (unk_id_) {
      if (!(options_.fuse_unk && last_was_unk)) add(*unk_id_);
      last_was_unk = true;
    }
  }

  // Lowest rank first, then leftmost; stale entries are skipped.
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const MergeRule* m = FindMerge(symbols[i].id, symbols[i + 1].id)) {
      queue.push({m->rank, static_cast<int32_t>(i), m->id});
    }
  }
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const MergeRule* m = FindMerge(left.id, right.id);
    if (m == nullptr || m->id != top.id) continue;
    left.id = top.id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) {
      if (const MergeRule* pm = FindMerge(symbols[left.prev].id, left.id)) {
        queue.push({pm->rank, left.prev, pm->id});
      }
    }
    if (left.next >= 0) {
      if (const MergeRule* nm = FindMerge(left.id, symbols[left.next].id)) {
        queue.push({nm->rank, top.pos, nm->id});
      }
    }
  }
  for (const Symbol& s : symbols) {
    if (s.alive) ids->push_back(s.id);
  }
}

}  // namespace kdnas
