#include "formats/sentencepiece_model.h"

#include <algorithm>
#include <cfloat>
#include <cstring>

namespace kdnas {
namespace {

constexpr std::string_view kDefaultUnkSurface = " \xe2\x81\x87 ";  // " ⁇ "

std::string BytePiece(int b) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">";
}

// A piece's text for an error message: printable ASCII as is, the rest as \xNN.
std::string Quote(std::string_view s) {
  std::string out = "'";
  for (unsigned char c : s.substr(0, 40)) {
    if (c >= 0x20 && c < 0x7f && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    }
  }
  return out + (s.size() > 40 ? "...'" : "'");
}

// One field of a protobuf message (wire format), with the byte offset of its
// tag in the file.
struct Field {
  uint32_t number = 0;
  int wire_type = 0;
  size_t offset = 0;
  uint64_t varint = 0;
  uint32_t fixed32 = 0;
  std::string_view bytes;
  size_t bytes_offset = 0;
};

Status Malformed(const std::string& what, size_t offset, const std::string& why) {
  return InvalidArgument(what + ": not a SentencePiece model: malformed protobuf at byte " +
                         std::to_string(offset) + " (" + why + ")");
}

bool ReadVarint(std::string_view d, size_t* pos, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= d.size()) return false;
    const auto b = static_cast<uint8_t>(d[(*pos)++]);
    r |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) {
      *v = r;
      return true;
    }
  }
  return false;
}

// Calls f(field) for each field of the message `msg`, which starts at byte
// `base` of the file.
template <typename F>
Status ForEachField(std::string_view msg, size_t base, const std::string& what, F&& f) {
  size_t pos = 0;
  while (pos < msg.size()) {
    Field field;
    field.offset = base + pos;
    uint64_t tag = 0;
    if (!ReadVarint(msg, &pos, &tag)) return Malformed(what, field.offset, "truncated tag");
    if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) {
      return Malformed(what, field.offset, "field number " + std::to_string(tag >> 3));
    }
    field.number = static_cast<uint32_t>(tag >> 3);
    field.wire_type = static_cast<int>(tag & 7);
    switch (field.wire_type) {
      case 0:
        if (!ReadVarint(msg, &pos, &field.varint)) {
          return Malformed(what, field.offset, "truncated varint");
        }
        break;
      case 1:
        if (msg.size() - pos < 8) return Malformed(what, field.offset, "truncated fixed64");
        pos += 8;
        break;
      case 2: {
        uint64_t length = 0;
        if (!ReadVarint(msg, &pos, &length) || length > msg.size() - pos) {
          return Malformed(what, field.offset, "length past the end");
        }
        field.bytes_offset = base + pos;
        field.bytes = msg.substr(pos, length);
        pos += length;
        break;
      }
      case 5:
        if (msg.size() - pos < 4) return Malformed(what, field.offset, "truncated fixed32");
        for (int i = 3; i >= 0; --i) {
          field.fixed32 = (field.fixed32 << 8) | static_cast<uint8_t>(msg[pos + i]);
        }
        pos += 4;
        break;
      default:
        return Malformed(what, field.offset, "wire type " + std::to_string(field.wire_type));
    }
    KDNAS_RETURN_IF_ERROR(f(field));
  }
  return Status::Ok();
}

Status Want(const Field& f, int wire_type, const std::string& what) {
  if (f.wire_type == wire_type) return Status::Ok();
  return Malformed(what, f.offset,
                   "field " + std::to_string(f.number) + " has wire type " +
                       std::to_string(f.wire_type) + ", not " + std::to_string(wire_type));
}

Status ParseNormalizerSpec(const Field& msg, const std::string& what,
                           SentencePieceNormalizerSpec* spec) {
  return ForEachField(msg.bytes, msg.bytes_offset, what, [&](const Field& f) -> Status {
    switch (f.number) {
      case 1:
      case 2:
        KDNAS_RETURN_IF_ERROR(Want(f, 2, what));
        (f.number == 1 ? spec->name : spec->precompiled_charsmap) = std::string(f.bytes);
        break;
      case 3:
      case 4:
      case 5:
        KDNAS_RETURN_IF_ERROR(Want(f, 0, what));
        (f.number == 3   ? spec->add_dummy_prefix
         : f.number == 4 ? spec->remove_extra_whitespaces
                         : spec->escape_whitespaces) = f.varint != 0;
        break;
      default:
        break;
    }
    return Status::Ok();
  });
}

// The fields of TrainerSpec that encoding and decoding use.
struct TrainerSpec {
  uint64_t model_type = 1;  // UNIGRAM
  bool treat_whitespace_as_suffix = false;
  bool byte_fallback = false;
  bool has_unk_surface = false;
  std::string unk_surface, unk_piece, bos_piece, eos_piece, pad_piece;
};

Status ParseTrainerSpec(const Field& msg, const std::string& what, TrainerSpec* spec) {
  return ForEachField(msg.bytes, msg.bytes_offset, what, [&](const Field& f) -> Status {
    switch (f.number) {
      case 3:
      case 24:
      case 35:
        KDNAS_RETURN_IF_ERROR(Want(f, 0, what));
        if (f.number == 3) spec->model_type = f.varint;
        if (f.number == 24) spec->treat_whitespace_as_suffix = f.varint != 0;
        if (f.number == 35) spec->byte_fallback = f.varint != 0;
        break;
      case 44:
      case 45:
      case 46:
      case 47:
      case 48: {
        KDNAS_RETURN_IF_ERROR(Want(f, 2, what));
        std::string* fields[] = {&spec->unk_surface, &spec->unk_piece, &spec->bos_piece,
                                 &spec->eos_piece, &spec->pad_piece};
        *fields[f.number - 44] = std::string(f.bytes);
        if (f.number == 44) spec->has_unk_surface = true;
        break;
      }
      default:
        break;
    }
    return Status::Ok();
  });
}

Status ParsePiece(const Field& msg, const std::string& what, SentencePieceModel::Piece* piece) {
  return ForEachField(msg.bytes, msg.bytes_offset, what, [&](const Field& f) -> Status {
    if (f.number == 1) {
      KDNAS_RETURN_IF_ERROR(Want(f, 2, what));
      piece->text = std::string(f.bytes);
    } else if (f.number == 2) {
      KDNAS_RETURN_IF_ERROR(Want(f, 5, what));
      static_assert(sizeof(float) == sizeof(uint32_t));
      std::memcpy(&piece->score, &f.fixed32, sizeof(float));
    } else if (f.number == 3) {
      KDNAS_RETURN_IF_ERROR(Want(f, 0, what));
      if (f.varint < 1 || f.varint > 6) {
        return InvalidArgument(what + ": not a SentencePiece model: piece type " +
                               std::to_string(f.varint) + " at byte " + std::to_string(f.offset));
      }
      piece->type = static_cast<SentencePieceModel::PieceType>(f.varint);
    }
    return Status::Ok();
  });
}

}  // namespace

StatusOr<SentencePieceModel> SentencePieceModel::Parse(std::string_view serialized,
                                                       const std::string& what) {
  if (serialized.empty()) return InvalidArgument(what + ": not a SentencePiece model: empty");
  SentencePieceModel m;
  TrainerSpec trainer;
  SentencePieceNormalizerSpec normalizer;
  SentencePieceNormalizerSpec denormalizer;
  KDNAS_RETURN_IF_ERROR(ForEachField(serialized, 0, what, [&](const Field& f) -> Status {
    if (f.number < 1 || f.number > 5 || f.number == 4) return Status::Ok();
    KDNAS_RETURN_IF_ERROR(Want(f, 2, what));
    if (f.number == 1) {
      Piece piece;
      KDNAS_RETURN_IF_ERROR(ParsePiece(f, what, &piece));
      m.pieces_.push_back(std::move(piece));
      return Status::Ok();
    }
    // Repeated occurrences of a message field merge, as protobuf's do.
    if (f.number == 2) return ParseTrainerSpec(f, what, &trainer);
    return ParseNormalizerSpec(f, what, f.number == 3 ? &normalizer : &denormalizer);
  }));
  const std::string bad = what + ": not a SentencePiece model: ";
  if (m.pieces_.empty()) return InvalidArgument(bad + "no pieces");
  if (trainer.model_type == 3 || trainer.model_type == 4) {
    return InvalidArgument(what + ": model type " +
                           std::string(trainer.model_type == 3 ? "WORD" : "CHAR") +
                           " is not supported (BPE and Unigram are)");
  }
  if (trainer.model_type != 1 && trainer.model_type != 2) {
    return InvalidArgument(bad + "unknown model type " + std::to_string(trainer.model_type));
  }
  if (!denormalizer.precompiled_charsmap.empty()) {
    return InvalidArgument(what + ": a denormalization rule set is not supported");
  }
  m.type_ = trainer.model_type == 2 ? Type::kBpe : Type::kUnigram;
  m.byte_fallback_ = trainer.byte_fallback;
  m.remove_extra_whitespaces_ = normalizer.remove_extra_whitespaces;
  m.unk_surface_ = trainer.has_unk_surface ? trainer.unk_surface : std::string(kDefaultUnkSurface);

  // What libsentencepiece's ModelInterface::InitializePieces checks.
  m.byte_of_id_.assign(m.pieces_.size(), -1);
  std::fill(std::begin(m.byte_ids_), std::end(m.byte_ids_), -1);
  m.min_score_ = FLT_MAX;
  m.max_score_ = FLT_MIN;  // sic: libsentencepiece's start, kept for user-defined scores
  for (size_t i = 0; i < m.pieces_.size(); ++i) {
    const Piece& p = m.pieces_[i];
    const std::string at = "pieces[" + std::to_string(i) + "]";
    if (p.text.empty()) return InvalidArgument(bad + at + " is empty");
    const bool normal = p.type == PieceType::kNormal || p.type == PieceType::kUserDefined ||
                        p.type == PieceType::kUnused;
    auto& map = normal ? m.pieces_by_text_ : m.reserved_by_text_;
    if (!map.emplace(p.text, static_cast<int>(i)).second) {
      return InvalidArgument(bad + at + " " + Quote(p.text) + " is defined twice");
    }
    if (p.type == PieceType::kNormal) {
      m.min_score_ = std::min(m.min_score_, p.score);
      m.max_score_ = std::max(m.max_score_, p.score);
    }
    if (p.type == PieceType::kUserDefined) m.user_defined_.Insert(p.text, static_cast<int>(i));
    if (p.type == PieceType::kUnknown) {
      if (m.unk_id_ >= 0) return InvalidArgument(bad + "more than one <unk> piece");
      m.unk_id_ = static_cast<int>(i);
    }
    if (p.type == PieceType::kByte) {
      if (!m.byte_fallback_) {
        return InvalidArgument(bad + at + " is a byte piece but byte_fallback is off");
      }
      int b = -1;
      if (p.text.size() == 6) {
        for (int k = 0; k < 256 && b < 0; ++k) {
          if (p.text == BytePiece(k)) b = k;
        }
      }
      if (b < 0) return InvalidArgument(bad + at + " " + Quote(p.text) + " is not a byte piece");
      m.byte_ids_[b] = static_cast<int>(i);
      m.byte_of_id_[i] = static_cast<int16_t>(b);
    }
  }
  if (m.unk_id_ < 0) return InvalidArgument(bad + "no <unk> piece");
  if (m.byte_fallback_ &&
      std::find(std::begin(m.byte_ids_), std::end(m.byte_ids_), -1) != std::end(m.byte_ids_)) {
    return InvalidArgument(bad + "byte_fallback is on but not all 256 byte pieces are there");
  }
  if (m.type_ == Type::kUnigram) {
    if (m.pieces_by_text_.empty()) return InvalidArgument(bad + "no normal pieces");
    for (const auto& [text, id] : m.pieces_by_text_) m.trie_.Insert(text, id);
  }
  auto special = [&](const std::string& name, const char* fallback, PieceType type) {
    const int id = m.PieceToId(name.empty() ? std::string_view(fallback) : name);
    return m.IsType(id, type) ? id : -1;
  };
  m.bos_id_ = special(trainer.bos_piece, "<s>", PieceType::kControl);
  m.eos_id_ = special(trainer.eos_piece, "</s>", PieceType::kControl);
  m.pad_id_ = special(trainer.pad_piece, "<pad>", PieceType::kControl);
  KDNAS_ASSIGN_OR_RETURN(
      m.normalizer_,
      SentencePieceNormalizer::Create(std::move(normalizer), trainer.treat_whitespace_as_suffix,
                                      m.user_defined_, what));
  return m;
}

int SentencePieceModel::PieceToId(std::string_view piece) const {
  if (auto it = reserved_by_text_.find(piece); it != reserved_by_text_.end()) return it->second;
  if (auto it = pieces_by_text_.find(piece); it != pieces_by_text_.end()) return it->second;
  return unk_id_;
}

}  // namespace kdnas
