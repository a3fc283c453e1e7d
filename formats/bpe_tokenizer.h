// Byte-level BPE tokenizers of Hugging Face checkpoints (GPT-2, Llama-3,
// Qwen2, SmolLM and their kin), torch-free, token for token what Hugging
// Face's tokenizers library gives (tests/formats/bpe_tokenizer_test.cc
// compares them with it). docs/tokenizers.md lists what tokenizer.json may
// hold and what is refused.
//
// Encode runs Hugging Face's pipeline: added tokens with normalized false
// are taken out of the raw text; each stretch between them is normalized,
// normalized added tokens are taken out of it, the rest is pre-tokenized
// and each piece split by the BPE model.
//
// Invalid UTF-8: Hugging Face's encode takes a str and never sees it. A
// byte-level tokenizer (byte_level()) encodes any bytes: an invalid byte is
// matched by no regex and no added token, so it ends up in a piece of its
// own or beside its neighbours, and ByteLevel maps it to its byte-level
// character like any other byte; Decode gives it back. Other tokenizers
// refuse invalid UTF-8 with INVALID_ARGUMENT naming the byte offset.
//
// BOS: bos_to_add() is tokenizer_config.json's bos_token when its
// add_bos_token is true, nothing when it is false (transformers' tokenizer
// classes that read add_bos_token, LlamaTokenizerFast and kin, rebuild the
// post-processor from it); without add_bos_token, the token that
// tokenizer.json's TemplateProcessing puts before $A, if any.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/added_vocabulary.h"
#include "formats/bpe_model.h"
#include "formats/normalizer.h"
#include "formats/pre_tokenizer.h"
#include "formats/text_tokenizer.h"

namespace kdnas {

struct TokenizerConfig;

class BpeTokenizer final : public TextTokenizer {
 public:
  // From files["tokenizer.json"] (model.type BPE), with
  // files["tokenizer_config.json"] and files["special_tokens_map.json"]
  // when present (bos_token, eos_token, add_bos_token). INVALID_ARGUMENT
  // naming the file and key for anything malformed or unsupported; NOT_FOUND
  // without tokenizer.json.
  static StatusOr<std::unique_ptr<BpeTokenizer>> FromTokenizerJson(const TokenizerFiles& files);
  // From GPT-2-era files["vocab.json"] and files["merges.txt"], as
  // transformers' GPT2TokenizerFast builds them: ByteLevel pre-tokenizer
  // (tokenizer_config.json's add_prefix_space, default false) and decoder;
  // special tokens from tokenizer_config.json (bos/eos/unk/pad_token,
  // additional_special_tokens, added_tokens_decoder) and
  // special_tokens_map.json, bos, eos and unk defaulting to "<|endoftext|>"
  // as GPT2Tokenizer's do.
  static StatusOr<std::unique_ptr<BpeTokenizer>> FromVocabAndMerges(const TokenizerFiles& files);

  std::string kind() const override { return "bpe"; }
  int vocab_size() const override;
  StatusOr<std::vector<int32_t>> Encode(std::string_view text) const override;
  // Hugging Face's decode(ids, skip_special_tokens=False) (ids it does not
  // know are skipped), except that bytes are returned as they are, with no
  // U+FFFD for invalid UTF-8, so Decode(Encode(s)) == s for any s of a
  // byte-level tokenizer without a normalizer or add_prefix_space. As in
  // Hugging Face, an added token goes through the ByteLevel decoder too: one
  // made only of byte-level characters, some non-ASCII ("café"), decodes to
  // the bytes they stand for, not to its UTF-8.
  std::string Decode(const std::vector<int32_t>& ids) const override;
  std::optional<int32_t> bos_to_add() const override { return bos_to_add_; }
  std::optional<int32_t> eos_id() const override { return eos_id_; }
  bool byte_level() const override { return byte_level_; }

  // The id of a token (added tokens first, then the model's vocabulary).
  std::optional<int32_t> TokenToId(std::string_view token) const;

 private:
  // What the factories assemble.
  struct Parts {
    std::unique_ptr<BpeModel> model;
    Normalizer normalizer;
    PreTokenizer pre_tokenizer;
    AddedVocabulary added;
    bool byte_level_decoder = false;
    std::optional<int32_t> bos_to_add;
    std::optional<int32_t> eos_id;
  };
  explicit BpeTokenizer(Parts parts);
  // Sets parts->bos_to_add and eos_id from the config files, `template_bos`
  // being the post-processor's BOS (see the header comment).
  static Status ResolveSpecialIds(const TokenizerConfig& config,
                                  std::optional<int32_t> template_bos, Parts* parts);

  Status EncodeText(std::string_view text, std::vector<int32_t>* ids) const;

  std::unique_ptr<BpeModel> model_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  AddedVocabulary added_;
  bool byte_level_decoder_;
  std::optional<int32_t> bos_to_add_;
  std::optional<int32_t> eos_id_;
  bool byte_level_;
};

}  // namespace kdnas
