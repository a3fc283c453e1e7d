// A SentencePiece model (the serialized sentencepiece.ModelProto of a
// checkpoint's tokenizer.model), read and run in plain C++.
//
// Why not libsentencepiece: Debian's libsentencepiece.so.0 (0.1.97) carries
// its own copy of protobuf-lite 3.14 with exported, unversioned
// google::protobuf symbols. A process that also loads the system's
// libprotobuf.so.32 (3.21; every kdnas binary through gRPC and the API)
// aborts at start-up ("This program was compiled against version 3.14.0 of the
// Protocol Buffer runtime library...") or crashes, depending on link order.
// So the reader decodes the protobuf wire format itself, validates what
// libsentencepiece's ModelInterface validates, and reimplements its BPE and
// (optimized) Unigram encoders, which tests compare token for token with the
// library's own encoder through python3-sentencepiece.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "formats/piece_trie.h"
#include "formats/sentencepiece_normalizer.h"
#include "search/status.h"

namespace kdnas {

class SentencePieceModel {
 public:
  enum class Type { kUnigram = 1, kBpe = 2 };
  // ModelProto.SentencePiece.Type.
  enum class PieceType : uint8_t {
    kNormal = 1,
    kUnknown = 2,
    kControl = 3,
    kUserDefined = 4,
    kUnused = 5,
    kByte = 6,
  };
  struct Piece {
    std::string text;
    float score = 0;
    PieceType type = PieceType::kNormal;
  };

  // Parses and validates `serialized`. Errors: INVALID_ARGUMENT naming
  // `what`, e.g. "tokenizer.model: not a SentencePiece model: malformed
  // protobuf at byte 17", "tokenizer.model: model type WORD is not supported".
  static StatusOr<SentencePieceModel> Parse(std::string_view serialized,
                                            const std::string& what = "tokenizer.model");

  SentencePieceModel() = default;
  // Movable, not copyable: the lookup maps view the pieces' text.
  SentencePieceModel(SentencePieceModel&&) = default;
  SentencePieceModel& operator=(SentencePieceModel&&) = default;
  SentencePieceModel(const SentencePieceModel&) = delete;
  SentencePieceModel& operator=(const SentencePieceModel&) = delete;

  Type type() const { return type_; }
  int piece_size() const { return static_cast<int>(pieces_.size()); }
  const Piece& piece(int id) const { return pieces_[id]; }
  const SentencePieceNormalizerSpec& normalizer_spec() const { return normalizer_.spec(); }
  bool byte_fallback() const { return byte_fallback_; }

  // The id of `piece`, or the <unk> id (libsentencepiece's PieceToId).
  int PieceToId(std::string_view piece) const;
  // The ids of the trainer spec's <unk>, <s>, </s> and <pad> pieces; -1 when
  // the piece is absent or not of the right type.
  int unk_id() const { return unk_id_; }
  int bos_id() const { return bos_id_; }
  int eos_id() const { return eos_id_; }
  int pad_id() const { return pad_id_; }

  // SentencePieceProcessor::Encode(text, &ids) of valid UTF-8 text, with the
  // normalizer's add_dummy_prefix replaced by `add_dummy_prefix`.
  StatusOr<std::vector<int32_t>> Encode(std::string_view text, bool add_dummy_prefix) const;
  // SentencePieceProcessor::Decode(ids): control pieces vanish, <unk> is the
  // trainer's unk_surface, byte pieces are joined into UTF-8 (U+FFFD for a
  // byte that starts no valid sequence), the first leading "▁" is dropped
  // when `add_dummy_prefix` (or remove_extra_whitespaces). Ids out of range
  // are skipped.
  std::string Decode(const std::vector<int32_t>& ids, bool add_dummy_prefix) const;

 private:
  using Segments = std::vector<std::pair<std::string_view, int>>;
  Segments EncodeBpe(std::string_view normalized) const;
  Segments EncodeUnigram(std::string_view normalized) const;
  // The length of the symbol at the start of `text`: a user-defined piece
  // (*frozen) or one UTF-8 character.
  size_t SymbolLength(std::string_view text, bool* frozen) const;
  bool IsType(int id, PieceType t) const {
    return id >= 0 && id < piece_size() && pieces_[id].type == t;
  }

  Type type_ = Type::kUnigram;
  std::vector<Piece> pieces_;
  // Normal, user-defined and unused pieces; and the others (libsentencepiece
  // looks the second map up first).
  std::unordered_map<std::string_view, int> pieces_by_text_;
  std::unordered_map<std::string_view, int> reserved_by_text_;
  PieceTrie trie_;          // pieces_by_text_ (Unigram)
  PieceTrie user_defined_;  // user-defined pieces
  int byte_ids_[256] = {};
  std::vector<int16_t> byte_of_id_;  // -1 unless a byte piece
  bool byte_fallback_ = false;
  bool remove_extra_whitespaces_ = true;
  int unk_id_ = -1, bos_id_ = -1, eos_id_ = -1, pad_id_ = -1;
  float min_score_ = 0, max_score_ = 0;
  std::string unk_surface_;
  SentencePieceNormalizer normalizer_;
};

}  // namespace kdnas
