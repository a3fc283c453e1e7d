// The tokenizer of a Llama-2-style Hugging Face checkpoint: tokenizer.model
// (SentencePiece, BPE or Unigram) as transformers' LlamaTokenizer uses it,
// with tokenizer_config.json, special_tokens_map.json and added_tokens.json.
//
// Encode is LlamaTokenizer's encode(text, add_special_tokens=False):
//  1. Added and special tokens written in the text ("<s>", "</s>", "<unk>",
//     added_tokens_decoder's, added_tokens.json's) are split out first,
//     leftmost-longest, and become their ids; a literal "</s>" in a corpus is
//     the EOS id, as in Hugging Face. Their lstrip/rstrip flags strip ASCII
//     whitespace beside them; empty pieces between them are dropped.
//  2. legacy (tokenizer_config.json's "legacy", true when absent or null):
//     each text piece is SentencePiece-encoded on its own, so each gets the
//     model's dummy prefix "▁" ("Hello <s>." -> ▁Hello ▁ <s> ▁.).
//     legacy false: U+2581 in the text becomes ' ', "▁" is put before the
//     text (add_prefix_space, default true), the model's add_dummy_prefix is
//     off, a piece that starts with a space is encoded after the unk token's
//     text and that prefix's tokens dropped, and a leading "▁" before a
//     special token is dropped (transformers' tokenize/_tokenize).
// Decode joins the model's decoding of each run of ids with the content of
// added and special tokens (so "<s>" decodes as "<s>", and the text of a
// corpus without special-token strings round-trips exactly); it does not
// copy LlamaTokenizer's legacy space insertion around special tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "formats/piece_trie.h"
#include "formats/sentencepiece_model.h"
#include "formats/text_tokenizer.h"

namespace kdnas {

class SentencePieceTokenizer : public TextTokenizer {
 public:
  // A token matched in the text before SentencePiece sees it.
  struct AddedToken {
    std::string content;
    int32_t id = 0;
    bool special = false;
    bool lstrip = false;
    bool rstrip = false;
  };

  // Reads files["tokenizer.model"] and, when present, tokenizer_config.json,
  // special_tokens_map.json and added_tokens.json. Errors: INVALID_ARGUMENT
  // naming the file ("tokenizer.model: not a SentencePiece model: ...",
  // "tokenizer_config.json: add_bos_token must be true or false"),
  // NOT_FOUND without tokenizer.model.
  static StatusOr<std::unique_ptr<SentencePieceTokenizer>> Create(const TokenizerFiles& files);

  std::string kind() const override { return "sentencepiece"; }
  int vocab_size() const override { return vocab_size_; }
  StatusOr<std::vector<int32_t>> Encode(std::string_view text) const override;
  std::string Decode(const std::vector<int32_t>& ids) const override;
  std::optional<int32_t> bos_to_add() const override { return add_bos_ ? bos_ : std::nullopt; }
  std::optional<int32_t> eos_id() const override { return eos_; }
  bool byte_level() const override { return false; }

  // The EOS id when tokenizer_config.json's add_eos_token is true (not part
  // of TextTokenizer yet).
  std::optional<int32_t> eos_to_add() const { return add_eos_ ? eos_ : std::nullopt; }
  bool legacy() const { return legacy_; }
  // Whether non-legacy encoding puts "▁" before the text.
  bool add_prefix_space() const { return add_prefix_space_; }
  const SentencePieceModel& model() const { return model_; }
  const std::vector<AddedToken>& added_tokens() const { return added_; }

 private:
  explicit SentencePieceTokenizer(SentencePieceModel model) : model_(std::move(model)) {}
  // The ids of one piece of text between added tokens.
  StatusOr<std::vector<int32_t>> EncodePiece(std::string_view piece) const;

  SentencePieceModel model_;
  std::vector<AddedToken> added_;
  PieceTrie added_trie_;                             // content -> index in added_
  std::unordered_map<int32_t, size_t> added_by_id_;  // id -> index in added_
  std::optional<int32_t> bos_, eos_;
  std::string unk_content_;
  size_t unk_length_ = 0;  // tokens of unk_content_ without the dummy prefix
  bool add_bos_ = true;
  bool add_eos_ = false;
  bool legacy_ = true;
  bool add_prefix_space_ = true;
  int vocab_size_ = 0;
};

}  // namespace kdnas
