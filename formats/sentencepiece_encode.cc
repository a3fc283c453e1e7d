// The encoders and the decoder of SentencePieceModel: libsentencepiece
// 0.1.97's bpe::Model, unigram::Model::EncodeOptimized and
// SentencePieceProcessor::Decode, step for step.
#include <algorithm>
#include <deque>
#include <queue>

#include "formats/sentencepiece_model.h"
#include "search/tokenizer.h"

namespace kdnas {
namespace {

constexpr float kUnkPenalty = 10.0f;  // libsentencepiece's Unigram <unk> cost

// The length of the UTF-8 sequence a lead byte announces (libsentencepiece's
// OneCharLen), clipped to what is left.
size_t OneCharLen(std::string_view text) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return std::min<size_t>(text.size(), kLen[static_cast<uint8_t>(text[0]) >> 4]);
}

}  // namespace

size_t SentencePieceModel::SymbolLength(std::string_view text, bool* frozen) const {
  const size_t user = user_defined_.empty() ? 0 : user_defined_.LongestPrefix(text);
  *frozen = user > 0;
  return user > 0 ? user : OneCharLen(text);
}

StatusOr<std::vector<int32_t>> SentencePieceModel::Encode(std::string_view text,
                                                          bool add_dummy_prefix) const {
  KDNAS_ASSIGN_OR_RETURN(std::string normalized, normalizer_.Normalize(text, add_dummy_prefix));
  const Segments segments = type_ == Type::kBpe ? EncodeBpe(normalized) : EncodeUnigram(normalized);
  // SentencePieceProcessor::PopulateSentencePieceText: an unknown piece
  // becomes its UTF-8 bytes under byte fallback; otherwise a run of unknown
  // pieces is one <unk>.
  std::vector<int32_t> ids;
  ids.reserve(segments.size());
  bool prev_unknown = false;
  for (const auto& [piece, id] : segments) {
    const bool unknown = IsType(id, PieceType::kUnknown);
    if (unknown && byte_fallback_) {
      for (unsigned char b : piece) ids.push_back(byte_ids_[b]);
    } else if (!(unknown && prev_unknown)) {
      ids.push_back(id);
    }
    prev_unknown = unknown;
  }
  return ids;
}

SentencePieceModel::Segments SentencePieceModel::EncodeBpe(std::string_view normalized) const {
  // bpe::Model::SampleEncode with alpha 0: merge the adjacent pair whose
  // merged piece scores highest (leftmost on ties) until none is a piece.
  struct SymbolPair {
    int left, right;
    float score;
    size_t size;
  };
  struct Lower {
    bool operator()(const SymbolPair* a, const SymbolPair* b) const {
      return a->score < b->score || (a->score == b->score && a->left > b->left);
    }
  };
  struct Symbol {
    int prev, next;
    bool freeze;
    std::string_view piece;
  };
  std::deque<SymbolPair> pairs;
  std::priority_queue<SymbolPair*, std::vector<SymbolPair*>, Lower> agenda;
  std::vector<Symbol> symbols;
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> rev_merge;
  auto maybe_add = [&](int left, int right) {
    if (left == -1 || right == -1 || symbols[left].freeze || symbols[right].freeze) return;
    const std::string_view piece(symbols[left].piece.data(),
                                 symbols[left].piece.size() + symbols[right].piece.size());
    const auto it = pieces_by_text_.find(piece);
    if (it == pieces_by_text_.end()) return;
    pairs.push_back({left, right, pieces_[it->second].score, piece.size()});
    agenda.push(&pairs.back());
    if (IsType(it->second, PieceType::kUnused)) {
      rev_merge[piece] = {symbols[left].piece, symbols[right].piece};
    }
  };
  for (int index = 0; !normalized.empty(); ++index) {
    Symbol s;
    const size_t length = SymbolLength(normalized, &s.freeze);
    s.piece = normalized.substr(0, length);
    s.prev = index - 1;
    normalized.remove_prefix(length);
    s.next = normalized.empty() ? -1 : index + 1;
    symbols.push_back(s);
  }
  if (symbols.empty()) return {};
  for (size_t i = 1; i < symbols.size(); ++i)
    maybe_add(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!agenda.empty()) {
    const SymbolPair* top = agenda.top();
    agenda.pop();
    Symbol& left = symbols[top->left];
    Symbol& right = symbols[top->right];
    if (left.piece.empty() || right.piece.empty() ||
        left.piece.size() + right.piece.size() != top->size) {
      continue;  // stale
    }
    left.piece = std::string_view(left.piece.data(), top->size);
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top->left;
    right.piece = std::string_view();
    maybe_add(left.prev, top->left);
    maybe_add(top->left, left.next);
  }
  // An unused piece is split back into the pieces it was merged from.
  Segments out;
  for (int index = 0; index != -1; index = symbols[index].next) {
    std::vector<std::string_view> stack = {symbols[index].piece};
    while (!stack.empty()) {
      const std::string_view w = stack.back();
      stack.pop_back();
      const int id = PieceToId(w);
      const auto split = IsType(id, PieceType::kUnused) ? rev_merge.find(w) : rev_merge.end();
      if (split == rev_merge.end()) {
        out.emplace_back(w, id);
      } else {
        stack.push_back(split->second.second);
        stack.push_back(split->second.first);
      }
    }
  }
  return out;
}

SentencePieceModel::Segments SentencePieceModel::EncodeUnigram(std::string_view normalized) const {
  // unigram::Model::EncodeOptimized: Viterbi over byte positions, keeping the
  // best path that ends at each; arithmetic in the library's types.
  struct BestPathNode {
    int id = -1;
    float best_path_score = 0;
    int starts_at = -1;
  };
  const int size = static_cast<int>(normalized.size());
  const float unk_score = min_score_ - kUnkPenalty;
  std::vector<BestPathNode> best(size + 1);
  int starts_at = 0;
  while (starts_at < size) {
    const float score_till_here = best[starts_at].best_path_score;
    bool has_single_node = false;
    const int mblen = static_cast<int>(OneCharLen(normalized.substr(starts_at)));
    trie_.ForEachPrefix(normalized.substr(starts_at), [&](size_t length, int32_t id) {
      if (IsType(id, PieceType::kUnused)) return;
      BestPathNode& target = best[starts_at + length];
      const double score = IsType(id, PieceType::kUserDefined)
                               ? (length * max_score_ - 0.1)
                               : static_cast<double>(pieces_[id].score);
      const double candidate = score + score_till_here;
      if (target.starts_at == -1 || candidate > target.best_path_score) {
        target.best_path_score = static_cast<float>(candidate);
        target.starts_at = starts_at;
        target.id = id;
      }
      if (!has_single_node && static_cast<int>(length) == mblen) has_single_node = true;
    });
    if (!has_single_node) {
      BestPathNode& target = best[starts_at + mblen];
      const float candidate = unk_score + score_till_here;
      if (target.starts_at == -1 || candidate > target.best_path_score) {
        target.best_path_score = candidate;
        target.starts_at = starts_at;
        target.id = unk_id_;
      }
    }
    starts_at += mblen;
  }
  Segments out;
  for (int ends_at = size; ends_at > 0;) {
    const BestPathNode& node = best[ends_at];
    out.emplace_back(normalized.substr(node.starts_at, ends_at - node.starts_at), node.id);
    ends_at = node.starts_at;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string SentencePieceModel::Decode(const std::vector<int32_t>& ids,
                                       bool add_dummy_prefix) const {
  std::string text;
  std::string bytes;
  auto flush_bytes = [&] {
    for (size_t pos = 0; pos < bytes.size();) {
      size_t next = pos;
      uint32_t cp = 0;
      if (DecodeUtf8(bytes, &next, &cp)) {
        text.append(bytes, pos, next - pos);
        pos = next;
      } else {
        text.append("\xef\xbf\xbd");
        ++pos;
      }
    }
    bytes.clear();
  };
  const bool strip_first_space = add_dummy_prefix || remove_extra_whitespaces_;
  bool is_bos_ws = true;
  bool bos_ws_seen = false;
  for (const int32_t id : ids) {
    if (id < 0 || id >= piece_size()) continue;
    if (byte_of_id_[id] >= 0) {
      bytes.push_back(static_cast<char>(byte_of_id_[id]));
      continue;
    }
    flush_bytes();
    if (bos_ws_seen || !text.empty()) is_bos_ws = false;
    bos_ws_seen = false;
    const Piece& p = pieces_[id];
    if (p.type == PieceType::kControl) continue;
    if (p.type == PieceType::kUnknown) {
      text += unk_surface_;
      continue;
    }
    std::string_view piece = p.text;
    if (is_bos_ws && strip_first_space && piece.starts_with(kSentencePieceSpace)) {
      piece.remove_prefix(kSentencePieceSpace.size());
      bos_ws_seen = !remove_extra_whitespaces_;
    }
    for (size_t at; (at = piece.find(kSentencePieceSpace)) != std::string_view::npos;) {
      text.append(piece.substr(0, at)).push_back(' ');
      piece.remove_prefix(at + kSentencePieceSpace.size());
    }
    text.append(piece);
  }
  flush_bytes();
  return text;
}

}  // namespace kdnas
