// Chooses and loads a checkpoint's tokenizer from its files, as transformers
// would: tokenizer.json (byte-level BPE) first; tokenizer.model
// (SentencePiece) when there is no tokenizer.json or kdnas cannot run the one
// there (the Metaspace/byte-fallback BPE of Llama-2-era files, converted from
// that same tokenizer.model); GPT-2-era vocab.json + merges.txt last. The
// result says which files were used and why another was passed over, so a
// job's record says what ran.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "formats/text_tokenizer.h"
#include "search/status.h"

namespace kdnas {

struct HfTokenizer {
  std::unique_ptr<TextTokenizer> tokenizer;
  // "tokenizer.json", "tokenizer.model" or "vocab.json + merges.txt".
  std::string source;
  // Why a tokenizer.json present was not used; empty otherwise.
  std::string passed_over;
  // The files of `files` the tokenizer was read from (the source and the
  // configuration files beside it), sorted: what a student must carry to
  // tokenize the same way.
  std::vector<std::string> files_read;
};

// INVALID_ARGUMENT naming the file and key when no tokenizer in `files` can
// be run (the reasons for each candidate joined), or there is none.
StatusOr<HfTokenizer> LoadHfTokenizer(const TokenizerFiles& files);

}  // namespace kdnas
