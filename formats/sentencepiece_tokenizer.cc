#include "formats/sentencepiece_tokenizer.h"

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "search/tokenizer.h"

namespace kdnas {
namespace {

using Json = nlohmann::json;

constexpr int32_t kMaxAddedId = 1 << 24;

StatusOr<Json> ParseJsonObject(const TokenizerFiles& files, const std::string& name) {
  const auto it = files.find(name);
  if (it == files.end()) return Json::object();
  Json j = Json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(name + ": not valid JSON");
  if (!j.is_object()) return InvalidArgument(name + ": not a JSON object");
  return j;
}

Status ReadBool(const Json& j, const std::string& file, const char* key, bool* out) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return InvalidArgument(file + ": " + key + " must be true or false");
  *out = it->get<bool>();
  return Status::Ok();
}

// A token as tokenizer_config.json and special_tokens_map.json write it: a
// string, or an object {"content": ..., "lstrip": ..., "rstrip": ...}.
StatusOr<SentencePieceTokenizer::AddedToken> ReadToken(const Json& v, const std::string& where) {
  SentencePieceTokenizer::AddedToken t;
  if (v.is_string()) {
    t.content = v.get<std::string>();
  } else if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    t.content = v["content"].get<std::string>();
    for (const char* flag : {"lstrip", "rstrip", "special"}) {
      bool value = false;
      KDNAS_RETURN_IF_ERROR(ReadBool(v, where, flag, &value));
      (flag[0] == 'l' ? t.lstrip : flag[0] == 'r' ? t.rstrip : t.special) = value;
    }
  } else {
    return InvalidArgument(where + " must be a string or an object with a string \"content\"");
  }
  if (t.content.empty()) return InvalidArgument(where + " is empty");
  return t;
}

bool IsPythonSpace(char c) {  // the ASCII part of str.isspace()
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

}  // namespace

StatusOr<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::Create(
    const TokenizerFiles& files) {
  const auto model_file = files.find("tokenizer.model");
  if (model_file == files.end()) return NotFound("tokenizer.model: not among the files");
  KDNAS_ASSIGN_OR_RETURN(SentencePieceModel model,
                         SentencePieceModel::Parse(model_file->second, "tokenizer.model"));
  std::unique_ptr<SentencePieceTokenizer> t(new SentencePieceTokenizer(std::move(model)));
  const SentencePieceModel& m = t->model_;

  const std::string config_name = "tokenizer_config.json";
  const std::string map_name = "special_tokens_map.json";
  KDNAS_ASSIGN_OR_RETURN(Json config, ParseJsonObject(files, config_name));
  KDNAS_ASSIGN_OR_RETURN(Json special_map, ParseJsonObject(files, map_name));
  KDNAS_ASSIGN_OR_RETURN(Json added_json, ParseJsonObject(files, "added_tokens.json"));
  KDNAS_RETURN_IF_ERROR(ReadBool(config, config_name, "add_bos_token", &t->add_bos_));
  KDNAS_RETURN_IF_ERROR(ReadBool(config, config_name, "add_eos_token", &t->add_eos_));
  KDNAS_RETURN_IF_ERROR(ReadBool(config, config_name, "legacy", &t->legacy_));
  KDNAS_RETURN_IF_ERROR(ReadBool(config, config_name, "add_prefix_space", &t->add_prefix_space_));

  // Added tokens with their ids: tokenizer_config.json's added_tokens_decoder,
  // then added_tokens.json.
  std::map<std::string, AddedToken> by_content;
  auto add = [&](AddedToken token, const std::string& where) -> Status {
    if (token.id < 0 || token.id >= kMaxAddedId) {
      return InvalidArgument(where + ": id " + std::to_string(token.id) + " is out of range");
    }
    by_content[token.content] = std::move(token);
    return Status::Ok();
  };
  if (const auto it = config.find("added_tokens_decoder"); it != config.end() && !it->is_null()) {
    if (!it->is_object())
      return InvalidArgument(config_name + ": added_tokens_decoder must be an object");
    for (const auto& [key, value] : it->items()) {
      const std::string where = config_name + ": added_tokens_decoder[\"" + key + "\"]";
      KDNAS_ASSIGN_OR_RETURN(AddedToken token, ReadToken(value, where));
      char* end = nullptr;
      const long id = std::strtol(key.c_str(), &end, 10);
      if (key.empty() || *end != '\0' || id < 0 || id >= kMaxAddedId) {
        return InvalidArgument(where + ": the key must be a token id");
      }
      token.id = static_cast<int32_t>(id);
      KDNAS_RETURN_IF_ERROR(add(std::move(token), where));
    }
  }
  for (const auto& [content, value] : added_json.items()) {
    const std::string where = "added_tokens.json: \"" + content + "\"";
    if (!value.is_number_integer() || content.empty()) {
      return InvalidArgument(where + " must map a token to an integer id");
    }
    AddedToken token;
    token.content = content;
    const int64_t id = value.get<int64_t>();
    token.id = id >= 0 && id < kMaxAddedId ? static_cast<int32_t>(id) : -1;
    if (auto old = by_content.find(content); old != by_content.end()) {
      token.special = old->second.special;
      token.lstrip = old->second.lstrip;
      token.rstrip = old->second.rstrip;
    }
    KDNAS_RETURN_IF_ERROR(add(std::move(token), where));
  }

  // The named special tokens, LlamaTokenizer's defaults overridden by
  // tokenizer_config.json, then by special_tokens_map.json; null: none.
  std::map<std::string, std::optional<AddedToken>> named;
  named["unk_token"] = AddedToken{"<unk>"};
  named["bos_token"] = AddedToken{"<s>"};
  named["eos_token"] = AddedToken{"</s>"};
  named["pad_token"] = std::nullopt;
  std::vector<AddedToken> additional;
  for (const auto* source : {&config, &special_map}) {
    const std::string& file = source == &config ? config_name : map_name;
    for (const char* key : {"unk_token", "bos_token", "eos_token", "pad_token"}) {
      const auto it = source->find(key);
      if (it == source->end()) continue;
      if (it->is_null()) {
        named[key] = std::nullopt;
        continue;
      }
      KDNAS_ASSIGN_OR_RETURN(AddedToken token, ReadToken(*it, file + ": " + key));
      named[key] = std::move(token);
    }
    if (const auto it = source->find("additional_special_tokens");
        it != source->end() && !it->is_null()) {
      if (!it->is_array())
        return InvalidArgument(file + ": additional_special_tokens must be a list");
      additional.clear();
      for (size_t i = 0; i < it->size(); ++i) {
        KDNAS_ASSIGN_OR_RETURN(
            AddedToken token,
            ReadToken((*it)[i], file + ": additional_special_tokens[" + std::to_string(i) + "]"));
        additional.push_back(std::move(token));
      }
    }
  }
  // A special token that is neither an added token nor a piece gets the next
  // id, as Hugging Face adds it (in SPECIAL_TOKENS_ATTRIBUTES order).
  int next_id = m.piece_size();
  for (const auto& [content, token] : by_content) next_id = std::max(next_id, token.id + 1);
  auto register_special = [&](AddedToken token) -> int32_t {
    auto it = by_content.find(token.content);
    if (it == by_content.end()) {
      const int piece = m.PieceToId(token.content);
      token.id = m.piece(piece).text == token.content ? piece : next_id++;
      it = by_content.emplace(token.content, token).first;
    }
    it->second.special = true;
    return it->second.id;
  };
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
    if (!named[key]) continue;
    const int32_t id = register_special(*named[key]);
    if (std::string_view(key) == "bos_token") t->bos_ = id;
    if (std::string_view(key) == "eos_token") t->eos_ = id;
  }
  for (auto& token : additional) register_special(std::move(token));

  t->vocab_size_ = m.piece_size();
  for (auto& [content, token] : by_content) {
    t->vocab_size_ = std::max(t->vocab_size_, token.id + 1);
    t->added_trie_.Insert(content, static_cast<int32_t>(t->added_.size()));
    t->added_by_id_.emplace(token.id, t->added_.size());
    t->added_.push_back(std::move(token));
  }
  t->unk_content_ = named["unk_token"] ? named["unk_token"]->content : m.piece(m.unk_id()).text;
  KDNAS_ASSIGN_OR_RETURN(auto unk_ids, m.Encode(t->unk_content_, /*add_dummy_prefix=*/false));
  t->unk_length_ = unk_ids.size();
  return t;
}

StatusOr<std::vector<int32_t>> SentencePieceTokenizer::EncodePiece(std::string_view piece) const {
  if (legacy_) return model_.Encode(piece, model_.normalizer_spec().add_dummy_prefix);
  const bool leading_space = piece.starts_with(' ') || piece.starts_with(kSentencePieceSpace);
  if (!leading_space) return model_.Encode(piece, false);
  // transformers' _tokenize: encode "<unk>" + piece, drop the "<unk>" tokens,
  // so that SentencePiece keeps the piece's leading space.
  KDNAS_ASSIGN_OR_RETURN(std::vector<int32_t> ids,
                         model_.Encode(unk_content_ + std::string(piece), false));
  if (ids.size() >= unk_length_) ids.erase(ids.begin(), ids.begin() + unk_length_);
  return ids;
}

StatusOr<std::vector<int32_t>> SentencePieceTokenizer::Encode(std::string_view text) const {
  for (size_t pos = 0; pos < text.size();) {
    const size_t at = pos;
    uint32_t cp = 0;
    if (!DecodeUtf8(text, &pos, &cp)) {
      return InvalidArgument("text: invalid UTF-8 at byte " + std::to_string(at));
    }
  }
  std::vector<int32_t> ids;
  if (text.empty()) return ids;
  std::string work;
  if (legacy_) {
    work = text;
  } else {
    if (add_prefix_space_) work = kSentencePieceSpace;
    for (size_t at = 0; at < text.size();) {
      if (text.substr(at).starts_with(kSentencePieceSpace)) {
        work.push_back(' ');
        at += kSentencePieceSpace.size();
      } else {
        work.push_back(text[at++]);
      }
    }
  }
  // Split out added tokens: (text, -1) or (content, index in added_).
  std::vector<std::pair<std::string_view, int>> parts;
  const std::string_view w = work;
  size_t start = 0;
  for (size_t pos = 0; pos < w.size();) {
    int index = -1;
    size_t length = 0;
    if (!added_trie_.empty()) {
      added_trie_.ForEachPrefix(w.substr(pos), [&](size_t l, int32_t i) {
        length = l;
        index = i;
      });
    }
    if (index < 0) {
      ++pos;
      continue;
    }
    if (pos > start) parts.emplace_back(w.substr(start, pos - start), -1);
    parts.emplace_back(w.substr(pos, length), index);
    pos += length;
    start = pos;
  }
  if (start < w.size()) parts.emplace_back(w.substr(start), -1);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].second < 0) continue;
    const AddedToken& token = added_[parts[i].second];
    if (token.rstrip && i + 1 < parts.size() && parts[i + 1].second < 0) {
      auto& next = parts[i + 1].first;
      while (!next.empty() && IsPythonSpace(next.front())) next.remove_prefix(1);
    }
    if (token.lstrip && i > 0 && parts[i - 1].second < 0) {
      auto& prev = parts[i - 1].first;
      while (!prev.empty() && IsPythonSpace(prev.back())) prev.remove_suffix(1);
    }
  }
  bool first_is_space_piece = false;  // the first token is the piece "▁"
  bool second_is_special = false;
  for (const auto& [part, index] : parts) {
    if (index >= 0) {
      if (ids.size() == 1) second_is_special = added_[index].special;
      ids.push_back(added_[index].id);
      continue;
    }
    if (part.empty()) continue;
    KDNAS_ASSIGN_OR_RETURN(std::vector<int32_t> piece_ids, EncodePiece(part));
    for (int32_t id : piece_ids) {
      if (ids.empty()) first_is_space_piece = model_.piece(id).text == kSentencePieceSpace;
      if (ids.size() == 1) second_is_special = false;
      ids.push_back(id);
    }
  }
  // transformers' LlamaTokenizer.tokenize (legacy false): a leading "▁"
  // before a special token is dropped.
  if (!legacy_ && ids.size() > 1 && first_is_space_piece && second_is_special) {
    ids.erase(ids.begin());
  }
  return ids;
}

std::string SentencePieceTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string text;
  std::vector<int32_t> run;
  bool first_run = true;
  auto flush = [&] {
    if (run.empty()) return;
    const bool strip = legacy_ ? model_.normalizer_spec().add_dummy_prefix
                               : first_run && text.empty() && add_prefix_space_;
    text += model_.Decode(run, strip);
    run.clear();
  };
  for (int32_t id : ids) {
    if (const auto it = added_by_id_.find(id); it != added_by_id_.end()) {
      flush();
      first_run = false;
      text += added_[it->second].content;
    } else {
      run.push_back(id);
    }
  }
  flush();
  return text;
}

}  // namespace kdnas
