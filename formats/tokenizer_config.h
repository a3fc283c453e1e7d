// What kdnas reads from a checkpoint's tokenizer_config.json and
// special_tokens_map.json beside its tokenizer files: the named special
// tokens (bos_token, eos_token, unk_token, pad_token: a string or an
// AddedToken object with "content"), additional_special_tokens,
// added_tokens_decoder, add_bos_token and add_prefix_space.
// tokenizer_config.json wins where both name a token.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "formats/added_vocabulary.h"
#include "formats/text_tokenizer.h"
#include "search/status.h"

namespace kdnas {

struct TokenizerConfig {
  std::optional<bool> add_bos_token;
  std::optional<bool> add_prefix_space;
  // "bos_token", "eos_token", "unk_token", "pad_token" -> content.
  std::map<std::string, std::string> named;
  // Which file named each of them, for error messages.
  std::map<std::string, std::string> named_in;
  std::vector<AddedToken> additional_special;
  // added_tokens_decoder, by id.
  std::vector<std::pair<int32_t, AddedToken>> added_tokens_decoder;
};

// Reads whichever of the two files `files` holds (neither: an empty config).
StatusOr<TokenizerConfig> ReadTokenizerConfig(const TokenizerFiles& files);

}  // namespace kdnas
