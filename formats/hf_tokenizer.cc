#include "formats/hf_tokenizer.h"

#include <algorithm>

#include "formats/bpe_tokenizer.h"
#include "formats/sentencepiece_tokenizer.h"

namespace kdnas {
namespace {

// Records which of `names` are in `files` as the files `out` was read from.
void NoteFilesRead(const TokenizerFiles& files, std::vector<std::string> names, HfTokenizer* out) {
  for (const char* config : {"tokenizer_config.json", "special_tokens_map.json"}) {
    names.push_back(config);
  }
  for (const auto& name : names) {
    if (files.contains(name)) out->files_read.push_back(name);
  }
  std::sort(out->files_read.begin(), out->files_read.end());
}

StatusOr<HfTokenizer> Choose(const TokenizerFiles& files) {
  HfTokenizer out;
  if (files.contains("tokenizer.json")) {
    auto bpe = BpeTokenizer::FromTokenizerJson(files);
    if (bpe.ok()) {
      out.tokenizer = std::move(*bpe);
      out.source = "tokenizer.json";
      return out;
    }
    if (!files.contains("tokenizer.model")) return bpe.status();
    out.passed_over = bpe.status().message();
  }
  if (files.contains("tokenizer.model")) {
    auto sentencepiece = SentencePieceTokenizer::Create(files);
    if (!sentencepiece.ok()) {
      if (out.passed_over.empty()) return sentencepiece.status();
      return InvalidArgument(out.passed_over + "; and " + sentencepiece.status().message());
    }
    out.tokenizer = std::move(*sentencepiece);
    out.source = "tokenizer.model";
    return out;
  }
  if (files.contains("vocab.json") || files.contains("merges.txt")) {
    KDNAS_ASSIGN_OR_RETURN(out.tokenizer, BpeTokenizer::FromVocabAndMerges(files));
    out.source = "vocab.json + merges.txt";
    return out;
  }
  return InvalidArgument(
      "no tokenizer: a checkpoint needs tokenizer.json, tokenizer.model or vocab.json + "
      "merges.txt (save it with tokenizer.save_pretrained(dir))");
}

}  // namespace

StatusOr<HfTokenizer> LoadHfTokenizer(const TokenizerFiles& files) {
  KDNAS_ASSIGN_OR_RETURN(HfTokenizer out, Choose(files));
  if (out.source == "tokenizer.json") {
    NoteFilesRead(files, {"tokenizer.json"}, &out);
  } else if (out.source == "tokenizer.model") {
    NoteFilesRead(files, {"tokenizer.model", "added_tokens.json"}, &out);
  } else {
    NoteFilesRead(files, {"vocab.json", "merges.txt"}, &out);
  }
  return out;
}

}  // namespace kdnas
