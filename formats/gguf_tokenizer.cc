#include "formats/gguf_tokenizer.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "formats/byte_level.h"
#include "formats/sentencepiece_tokenizer.h"

namespace kdnas {
namespace {

// llama_token_type (the same numbers as SentencePiece's piece types).
constexpr int32_t kNormalToken = 1;
constexpr int32_t kControlToken = 3;
constexpr int32_t kUserDefinedToken = 4;
constexpr int32_t kUnusedToken = 5;

using Json = nlohmann::json;

std::string ByteLevel(std::string_view bytes) {
  std::string out;
  AppendByteLevel(bytes, &out);
  return out;
}

// A byte-level BPE vocabulary for llama.cpp's "gpt2" tokenizer model.
struct BpeVocabulary {
  std::string pre = "gpt-2";  // tokenizer.ggml.pre: llama.cpp's name of the pre-tokenizer
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<std::string> merges;  // "left right", in rank order
  std::optional<int32_t> bos, eos;  // bos: added to every sequence
};

GgufMetadata BpeMetadata(BpeVocabulary v) {
  GgufMetadata m;
  m.push_back({"tokenizer.ggml.model", std::string("gpt2")});
  m.push_back({"tokenizer.ggml.pre", std::move(v.pre)});
  m.push_back({"tokenizer.ggml.tokens", std::move(v.tokens)});
  m.push_back({"tokenizer.ggml.token_type", std::move(v.types)});
  m.push_back({"tokenizer.ggml.merges", std::move(v.merges)});
  if (v.bos) m.push_back({"tokenizer.ggml.bos_token_id", static_cast<uint32_t>(*v.bos)});
  if (v.eos) m.push_back({"tokenizer.ggml.eos_token_id", static_cast<uint32_t>(*v.eos)});
  m.push_back({"tokenizer.ggml.add_bos_token", v.bos.has_value()});
  m.push_back({"tokenizer.ggml.add_eos_token", false});
  return m;
}

// The Split patterns of tokenizer.json whose pre-tokenizer llama.cpp has
// under a name (src/llama-vocab.cpp quotes each "from tokenizer.json").
const std::map<std::string, std::string>& KnownSplitPatterns() {
  static const std::map<std::string, std::string> known = {
      {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}"
       "\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
       "llama-bpe"},
      {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}"
       "\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
       "qwen2"},
  };
  return known;
}

bool IsByteLevelWithRegex(const Json& p) {
  return p.value("type", "") == "ByteLevel" && p.value("use_regex", true);
}

// llama.cpp's name of tokenizer.json's pre_tokenizer.
StatusOr<std::string> PreTokenizerName(const Json& pre) {
  const std::string unsupported =
      "GGUF: tokenizer.json's pre_tokenizer (" + pre.dump().substr(0, 300) +
      ") is not one kdnas knows llama.cpp's name of (GPT-2's ByteLevel, Llama 3's or Qwen2's "
      "Split, SmolLM's Digits + ByteLevel)";
  if (IsByteLevelWithRegex(pre)) return std::string("gpt-2");
  if (pre.value("type", "") != "Sequence" || !pre.contains("pretokenizers"))
    return FailedPrecondition(unsupported);
  const Json& parts = pre["pretokenizers"];
  if (parts.size() == 1 && IsByteLevelWithRegex(parts[0])) return std::string("gpt-2");
  if (parts.size() == 2 && parts[0].value("type", "") == "Digits" &&
      parts[0].value("individual_digits", false) && IsByteLevelWithRegex(parts[1]))
    return std::string("smollm");
  if (parts.size() == 2 && parts[0].value("type", "") == "Split" &&
      parts[1].value("type", "") == "ByteLevel" && !parts[1].value("use_regex", true) &&
      parts[0].contains("pattern") && parts[0]["pattern"].contains("Regex")) {
    const auto& known = KnownSplitPatterns();
    auto it = known.find(parts[0]["pattern"]["Regex"].get<std::string>());
    if (it != known.end()) return it->second;
  }
  return FailedPrecondition(unsupported);
}

StatusOr<Json> ParseFile(const TokenizerFiles& files, const std::string& name) {
  auto it = files.find(name);
  if (it == files.end()) return NotFound("GGUF: the tokenizer has no " + name);
  Json j = Json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("GGUF: " + name + " is not JSON");
  return j;
}

// Fills `v`'s tokens (padded to `vocab_size` with unused "[PAD<id>]" tokens,
// as convert_hf_to_gguf.py pads) from vocabulary and added-token entries.
void PlaceTokens(const std::map<int64_t, std::pair<std::string, int32_t>>& by_id, int vocab_size,
                 BpeVocabulary* v) {
  for (int32_t id = 0; id < vocab_size; ++id) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      v->tokens.push_back("[PAD" + std::to_string(id) + "]");
      v->types.push_back(kUnusedToken);
    } else {
      v->tokens.push_back(it->second.first);
      v->types.push_back(it->second.second);
    }
  }
}

StatusOr<BpeVocabulary> ImportedBpeVocabulary(const JobTokenizer& tokenizer) {
  const TokenizerFiles& files = tokenizer.files();
  BpeVocabulary v;
  std::map<int64_t, std::pair<std::string, int32_t>> by_id;
  Json merges;
  if (files.count("tokenizer.json")) {
    KDNAS_ASSIGN_OR_RETURN(Json j, ParseFile(files, "tokenizer.json"));
    KDNAS_ASSIGN_OR_RETURN(v.pre, PreTokenizerName(j.value("pre_tokenizer", Json())));
    for (const auto& [token, id] : j["model"]["vocab"].items())
      by_id[id.get<int64_t>()] = {token, kNormalToken};
    for (const Json& added : j.value("added_tokens", Json::array())) {
      by_id[added["id"].get<int64_t>()] = {
          added["content"].get<std::string>(),
          added.value("special", false) ? kControlToken : kUserDefinedToken};
    }
    merges = j["model"].value("merges", Json::array());
  } else {
    KDNAS_ASSIGN_OR_RETURN(Json vocab, ParseFile(files, "vocab.json"));
    for (const auto& [token, id] : vocab.items()) by_id[id.get<int64_t>()] = {token, kNormalToken};
    auto config = ParseFile(files, "tokenizer_config.json");
    if (config.ok() && config->contains("added_tokens_decoder")) {
      for (const auto& [id, added] : (*config)["added_tokens_decoder"].items()) {
        by_id[std::stoll(id)] = {added["content"].get<std::string>(),
                                 added.value("special", false) ? kControlToken : kUserDefinedToken};
      }
    }
    merges = Json::array();
    std::istringstream lines(files.at("merges.txt"));
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line.rfind("#version", 0) == 0) continue;
      merges.push_back(line);
    }
  }
  for (const Json& merge : merges) {
    v.merges.push_back(merge.is_array()
                           ? merge[0].get<std::string>() + " " + merge[1].get<std::string>()
                           : merge.get<std::string>());
  }
  PlaceTokens(by_id, tokenizer.vocab_size(), &v);
  v.bos = tokenizer.bos_to_add();
  v.eos = tokenizer.eos_id();
  return v;
}

// A SentencePiece tokenizer for llama.cpp's "llama" (SPM) tokenizer model, as
// convert_hf_to_gguf.py writes it: the pieces with their scores and types,
// ids up to the model's vocabulary padded with unused "[PAD<id>]" tokens,
// added tokens as control (special) or user-defined tokens. llama.cpp's SPM
// tokenizer merges by the pieces' scores (SentencePiece's BPE), falls back to
// the <0xXX> byte pieces, and normalizes nothing but ' ' to U+2581 and an
// optional leading space; a model that needs more is refused with the reason.
StatusOr<GgufMetadata> SentencePieceMetadata(const JobTokenizer& tokenizer) {
  KDNAS_ASSIGN_OR_RETURN(auto sp, SentencePieceTokenizer::Create(tokenizer.files()));
  const SentencePieceModel& model = sp->model();
  const SentencePieceNormalizerSpec& norm = model.normalizer_spec();
  const std::string refused =
      "GGUF: llama.cpp's SentencePiece tokenizer would not tokenize as "
      "tokenizer.model does: ";
  if (model.type() != SentencePieceModel::Type::kBpe)
    return FailedPrecondition(refused +
                              "a Unigram model (llama.cpp's \"llama\" tokenizer is "
                              "SentencePiece's BPE)");
  if (!norm.precompiled_charsmap.empty())
    return FailedPrecondition(refused + "its normalizer (" + norm.name +
                              ") rewrites characters, llama.cpp's does not");
  if (norm.remove_extra_whitespaces)
    return FailedPrecondition(refused +
                              "its normalizer removes extra whitespace, llama.cpp's "
                              "does not");
  if (!norm.escape_whitespaces)
    return FailedPrecondition(refused + "it does not escape whitespace as U+2581");
  const int vocab = tokenizer.vocab_size();
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (int32_t id = 0; id < vocab; ++id) {
    tokens.push_back("[PAD" + std::to_string(id) + "]");
    scores.push_back(-10000.0f);
    types.push_back(kUnusedToken);
  }
  for (int32_t id = 0; id < std::min(model.piece_size(), vocab); ++id) {
    const SentencePieceModel::Piece& piece = model.piece(id);
    tokens[id] = piece.text;
    scores[id] = piece.score;
    types[id] = static_cast<int32_t>(piece.type);
  }
  for (const SentencePieceTokenizer::AddedToken& added : sp->added_tokens()) {
    if (added.id < 0 || added.id >= vocab) continue;
    if (added.id < model.piece_size() && model.piece(added.id).text == added.content) continue;
    tokens[added.id] = added.content;
    scores[added.id] = -1000.0f;
    types[added.id] = added.special ? kControlToken : kUserDefinedToken;
  }
  GgufMetadata m;
  m.push_back({"tokenizer.ggml.model", std::string("llama")});
  m.push_back({"tokenizer.ggml.pre", std::string("default")});
  m.push_back({"tokenizer.ggml.tokens", std::move(tokens)});
  m.push_back({"tokenizer.ggml.scores", std::move(scores)});
  m.push_back({"tokenizer.ggml.token_type", std::move(types)});
  // llama.cpp's defaults are 1, 2 and 0: a missing id is written as the
  // largest uint32, which it takes as no token.
  const auto id_or_none = [](std::optional<int32_t> id) {
    return id ? static_cast<uint32_t>(*id) : UINT32_MAX;
  };
  const auto piece_id = [](int id) { return id >= 0 ? std::optional<int32_t>(id) : std::nullopt; };
  const std::optional<int32_t> bos = sp->bos_to_add() ? sp->bos_to_add() : piece_id(model.bos_id());
  m.push_back({"tokenizer.ggml.bos_token_id", id_or_none(bos)});
  m.push_back({"tokenizer.ggml.eos_token_id", id_or_none(sp->eos_id())});
  m.push_back({"tokenizer.ggml.unknown_token_id", id_or_none(piece_id(model.unk_id()))});
  if (model.pad_id() >= 0)
    m.push_back({"tokenizer.ggml.padding_token_id", static_cast<uint32_t>(model.pad_id())});
  m.push_back({"tokenizer.ggml.add_bos_token", sp->bos_to_add().has_value()});
  m.push_back({"tokenizer.ggml.add_eos_token", sp->eos_to_add().has_value()});
  // Hugging Face's legacy tokenizer takes the model's dummy prefix; the
  // non-legacy one puts "▁" before the text itself.
  m.push_back({"tokenizer.ggml.add_space_prefix",
               sp->legacy() ? norm.add_dummy_prefix : sp->add_prefix_space()});
  return m;
}

}  // namespace

StatusOr<GgufMetadata> GgufTokenizerMetadata(const JobTokenizer& tokenizer) {
  const Tokenizer* own = tokenizer.kdnas();
  if (tokenizer.kind() == JobTokenizer::Kind::kBpe) {
    KDNAS_ASSIGN_OR_RETURN(BpeVocabulary v, ImportedBpeVocabulary(tokenizer));
    return BpeMetadata(std::move(v));
  }
  if (tokenizer.kind() == JobTokenizer::Kind::kSentencePiece)
    return SentencePieceMetadata(tokenizer);
  if (own == nullptr) {
    return FailedPrecondition(std::string("GGUF: the tokenizer of an imported teacher (") +
                              tokenizer.source() + ") is not written into GGUF files yet");
  }
  BpeVocabulary v;
  std::vector<std::string>& tokens = v.tokens;
  std::vector<std::string>& merges = v.merges;
  std::set<std::string> seen_merges;
  for (int32_t id = 0; id < own->vocab_size(); ++id) {
    const std::string bytes = own->kind() == TokenizerKind::kByte
                                  ? std::string(1, static_cast<char>(id))
                                  : own->Symbol(id);
    tokens.push_back(ByteLevel(bytes));
    for (size_t i = 1; i < bytes.size(); ++i) {
      std::string merge = ByteLevel(bytes.substr(0, i)) + " " + ByteLevel(bytes.substr(i, 1));
      if (seen_merges.insert(merge).second) merges.push_back(std::move(merge));
    }
  }
  v.types.assign(tokens.size(), kNormalToken);
  return BpeMetadata(std::move(v));
}

}  // namespace kdnas
