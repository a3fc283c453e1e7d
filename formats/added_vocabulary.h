// tokenizer.json's "added_tokens" (and the special tokens a vocab.json
// checkpoint names): strings matched whole in the text before the model
// sees it, each one token. As in Hugging Face's AddedVocabulary:
//   - ids: a content already added keeps its id, one in the model's
//     vocabulary takes that id, any other the next id from the model
//     vocabulary's size on (the "id" in the file is not read, as in HF);
//   - tokens with normalized false are matched in the raw text first;
//     those with normalized true in each normalized stretch after, by their
//     normalized content;
//   - leftmost-longest matching; single_word keeps a match only between
//     non-word characters (Rust's \w); lstrip and rstrip take the
//     whitespace (Unicode White_Space) before and after into the token;
//   - special only matters to decoding with skip_special_tokens (kdnas
//     decodes all).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "formats/normalizer.h"
#include "search/status.h"

namespace kdnas {

struct AddedToken {
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;

  bool operator==(const AddedToken&) const = default;
};

class AddedVocabulary {
 public:
  // `model_vocab_size` is the number of entries in the model's vocabulary
  // (not its largest id + 1: Hugging Face counts entries).
  explicit AddedVocabulary(size_t model_vocab_size = 0) : next_id_(model_vocab_size) {}

  // Adds `token` as Hugging Face's add_tokens does; `model_id` is the
  // token's id in the model's vocabulary, if it has one. Must be followed by
  // Build before matching.
  Status Add(const AddedToken& token, std::optional<int32_t> model_id,
             const Normalizer& normalizer);
  // Builds the matchers.
  void Build();

  // A stretch of text, or an added token (id >= 0), by byte offsets.
  struct Segment {
    size_t start;
    size_t end;
    int32_t id;  // -1: text
  };
  // The segments of `text` when the tokens with `normalized` equal to the
  // argument are taken out of it (empty text segments are left out).
  Status Split(std::string_view text, bool normalized, std::vector<Segment>* out) const;
  bool has_tokens(bool normalized) const { return matcher(normalized).nodes.size() > 1; }

  std::optional<int32_t> IdOf(std::string_view content) const;
  // What decoding writes for `id` (the normalized content for normalized
  // tokens, as HF does), or nullptr when `id` is no added token.
  const std::string* DecodedContent(int32_t id) const;
  // The largest id, or -1 when there are none.
  int32_t max_id() const;

 private:
  // A byte trie of the patterns, leftmost-longest.
  struct Matcher {
    struct Node {
      std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
      int32_t id = -1;                                    // a pattern ends here
    };
    std::vector<Node> nodes{1};
    bool first_byte[256] = {};
    void Insert(std::string_view pattern, int32_t id);
    // The longest pattern at text[pos], as (length, id); length 0 for none.
    std::pair<size_t, int32_t> Longest(std::string_view text, size_t pos) const;
  };
  const Matcher& matcher(bool normalized) const { return normalized ? normalized_ : raw_; }

  size_t next_id_;
  std::unordered_map<std::string, int32_t> by_content_;
  std::unordered_map<int32_t, AddedToken> by_id_;
  std::unordered_map<int32_t, std::string> normalized_content_;  // where it differs
  Matcher raw_;
  Matcher normalized_;
};

}  // namespace kdnas
