// BpeTokenizer::FromVocabAndMerges: a GPT-2-era checkpoint's vocab.json and
// merges.txt, built as transformers' GPT2TokenizerFast converts them.
#include <string>

#include "formats/bpe_tokenizer.h"
#include "formats/json_util.h"
#include "formats/tokenizer_config.h"

namespace kdnas {
namespace {

// GPT2Tokenizer's default bos, eos and unk token.
const char kEndOfText[] = "<|endoftext|>";

StatusOr<std::unordered_map<std::string, int32_t>> ReadVocab(const std::string& text) {
  KDNAS_ASSIGN_OR_RETURN(nlohmann::json json, ParseJsonFile(text, "vocab.json"));
  const JsonPath at{"vocab.json", ""};
  if (!json.is_object()) return at.Error("is not a JSON object of token ids");
  std::unordered_map<std::string, int32_t> vocab;
  vocab.reserve(json.size());
  for (const auto& [token, id] : json.items()) {
    KDNAS_ASSIGN_OR_RETURN(vocab[token], AsTokenId(id, at.Key(token)));
  }
  return vocab;
}

// Lines as Rust's BufRead::lines gives them ("\n" or "\r\n" ends a line), the
// "#version" lines left out, each "a b".
StatusOr<std::vector<std::pair<std::string, std::string>>> ReadMerges(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> merges;
  size_t start = 0;
  size_t rank = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with("#version")) continue;
    ++rank;
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos) {
      return InvalidArgument("merges.txt: merge " + std::to_string(rank) + " (\"" +
                             std::string(line.substr(0, 80)) +
                             "\") is not two tokens separated by a space");
    }
    merges.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
  }
  return merges;
}

}  // namespace

StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::FromVocabAndMerges(
    const TokenizerFiles& files) {
  const auto vocab_file = files.find("vocab.json");
  const auto merges_file = files.find("merges.txt");
  if (vocab_file == files.end())
    return NotFound("vocab.json: no such file among the tokenizer files");
  if (merges_file == files.end())
    return NotFound("merges.txt: no such file among the tokenizer files");
  KDNAS_ASSIGN_OR_RETURN(auto vocab, ReadVocab(vocab_file->second));
  KDNAS_ASSIGN_OR_RETURN(auto merges, ReadMerges(merges_file->second));
  KDNAS_ASSIGN_OR_RETURN(TokenizerConfig config, ReadTokenizerConfig(files));
  for (const char* key : {"bos_token", "eos_token", "unk_token"}) {
    if (config.named.count(key) == 0) {
      config.named[key] = kEndOfText;
      config.named_in[key] = "the GPT-2 defaults";
    }
  }

  Parts parts;
  KDNAS_ASSIGN_OR_RETURN(
      parts.model, BpeModel::Create(std::move(vocab), merges, BpeModelOptions(), "merges.txt"));
  KDNAS_ASSIGN_OR_RETURN(parts.pre_tokenizer,
                         PreTokenizer::ByteLevel(config.add_prefix_space.value_or(false)));
  parts.byte_level_decoder = true;
  parts.added = AddedVocabulary(parts.model->size());
  for (const auto& [id, token] : config.added_tokens_decoder) {
    KDNAS_RETURN_IF_ERROR(
        parts.added.Add(token, parts.model->IdOf(token.content), parts.normalizer));
  }
  std::vector<AddedToken> specials;
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
    const auto it = config.named.find(key);
    if (it == config.named.end()) continue;
    AddedToken token;
    token.content = it->second;
    token.special = true;
    token.normalized = false;
    specials.push_back(token);
  }
  specials.insert(specials.end(), config.additional_special.begin(),
                  config.additional_special.end());
  for (const AddedToken& token : specials) {
    if (parts.added.IdOf(token.content)) continue;  // added_tokens_decoder said how
    KDNAS_RETURN_IF_ERROR(
        parts.added.Add(token, parts.model->IdOf(token.content), parts.normalizer));
  }
  parts.added.Build();
  KDNAS_RETURN_IF_ERROR(ResolveSpecialIds(config, std::nullopt, &parts));
  return std::unique_ptr<BpeTokenizer>(new BpeTokenizer(std::move(parts)));
}

}  // namespace kdnas
