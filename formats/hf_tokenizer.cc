#include "formats/hf_tokenizer.h"

#include "formats/bpe_tokenizer.h"
#include "formats/sentencepiece_tokenizer.h"

namespace kdnas {

StatusOr<HfTokenizer> LoadHfTokenizer(const TokenizerFiles& files) {
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

}  // namespace kdnas
