// ReadPackedArtifact: decodes docs/artifact-format.md back to weights.
#include <cstring>
#include <fstream>
#include <sstream>

#include "search/artifact_layout.h"
#include "search/search_space.h"
#include "workers/packed_artifact.h"

namespace kdnas {
namespace {

class ByteReader {
 public:
  explicit ByteReader(const std::string& s) : s_(s) {}
  bool Has(size_t n) const { return pos_ + n <= s_.size(); }
  uint32_t U8() { return static_cast<uint8_t>(s_[pos_++]); }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= U8() << (8 * i);
    return v;
  }
  double F64() {
    uint64_t v = U32();
    v |= static_cast<uint64_t>(U32()) << 32;
    double f;
    std::memcpy(&f, &v, 8);
    return f;
  }
  std::string Bytes(size_t n) {
    std::string out = s_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  const uint8_t* Here() const { return reinterpret_cast<const uint8_t*>(s_.data()) + pos_; }
  void Skip(size_t n) { pos_ += n; }
  size_t pos() const { return pos_; }
  size_t size() const { return s_.size(); }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

class BitReader {
 public:
  explicit BitReader(const uint8_t* p) : p_(p) {}
  uint32_t Get(int bits) {
    uint32_t v = 0;
    for (int i = 0; i < bits; ++i, ++bit_)
      v |= static_cast<uint32_t>((p_[bit_ >> 3] >> (bit_ & 7)) & 1) << i;
    return v;
  }

 private:
  const uint8_t* p_;
  uint64_t bit_ = 0;
};

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

float HalfToFloat(uint16_t bits) {
  at::Half h;
  h.x = bits;
  return static_cast<float>(h);
}

StatusOr<PackedTensor> ReadTensor(ByteReader* r, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return DataLoss("artifact: tensor " + name + ": " + why);
  };
  if (!r->Has(20)) return bad("truncated header");
  PackedTensor t;
  t.name = name;
  t.bits = static_cast<int>(r->U8());
  t.sparse_encoding = static_cast<int>(r->U8());
  t.n = static_cast<int>(r->U8());
  t.m = static_cast<int>(r->U8());
  t.group_size = static_cast<int32_t>(r->U32());
  t.rows = r->U32();
  t.cols = r->U32();
  t.stored_values = r->U32();
  const int64_t numel = t.rows * t.cols;
  if (t.bits != 16 && t.bits != 8 && t.bits != 6 && t.bits != 4 && t.bits != 3 && t.bits != 2) {
    return bad("bits " + std::to_string(t.bits));
  }
  if (t.sparse_encoding > 2) return bad("sparse encoding " + std::to_string(t.sparse_encoding));
  if (t.bits < 16 && t.group_size <= 0) return bad("group size " + std::to_string(t.group_size));
  if (numel <= 0 || numel > (int64_t{1} << 34)) return bad("shape");
  std::vector<uint8_t> kept(numel, 1);
  if (t.sparse_encoding == 1) {
    if (!r->Has(CeilDiv(numel, 8))) return bad("truncated bitmap");
    BitReader br(r->Here());
    int64_t count = 0;
    for (int64_t i = 0; i < numel; ++i) count += (kept[i] = static_cast<uint8_t>(br.Get(1)));
    r->Skip(CeilDiv(numel, 8));
    if (count != t.stored_values)
      return bad("bitmap keeps " + std::to_string(count) + " but stores " +
                 std::to_string(t.stored_values));
  } else if (t.sparse_encoding == 2) {
    if (t.m != 2 && t.m != 4 && t.m != 8) return bad("M " + std::to_string(t.m));
    if (t.n < 1 || t.n > t.m || t.cols % t.m != 0)
      return bad("N:M " + std::to_string(t.n) + ":" + std::to_string(t.m));
    int bits = 0;
    while ((1 << bits) < t.m) ++bits;
    const int64_t groups = numel / t.m;
    const int64_t bytes = CeilDiv(groups * t.n * bits, 8);
    if (!r->Has(bytes)) return bad("truncated N:M indices");
    if (t.stored_values != groups * t.n) return bad("stored values");
    std::fill(kept.begin(), kept.end(), 0);
    BitReader br(r->Here());
    for (int64_t g = 0; g < groups; ++g) {
      int last = -1;
      for (int j = 0; j < t.n; ++j) {
        int pos = static_cast<int>(br.Get(bits));
        if (pos <= last || pos >= t.m)
          return bad("N:M positions not increasing in group " + std::to_string(g));
        last = pos;
        kept[g * t.m + pos] = 1;
      }
    }
    r->Skip(bytes);
  } else if (t.stored_values != numel) {
    return bad("dense tensor stores " + std::to_string(t.stored_values) + " values");
  }
  std::vector<float> scales;
  int64_t groups_per_row = 0;
  if (t.bits < 16) {
    groups_per_row = CeilDiv(t.cols, t.group_size);
    const int64_t n_scales = t.rows * groups_per_row;
    if (!r->Has(2 * n_scales)) return bad("truncated scales");
    scales.resize(n_scales);
    for (int64_t i = 0; i < n_scales; ++i)
      scales[i] = HalfToFloat(static_cast<uint16_t>(r->U8() | (r->U8() << 8)));
  }
  const int64_t value_bytes = CeilDiv(t.stored_values * t.bits, 8);
  if (!r->Has(value_bytes)) return bad("truncated values");
  t.values = torch::zeros({t.rows, t.cols});
  t.mask = torch::zeros({t.rows, t.cols});
  float* v = t.values.data_ptr<float>();
  float* mk = t.mask.data_ptr<float>();
  BitReader br(r->Here());
  const int32_t qmax = t.bits < 16 ? (1 << (t.bits - 1)) - 1 : 0;
  for (int64_t i = 0; i < numel; ++i) {
    mk[i] = kept[i];
    if (t.sparse_encoding != 0 && !kept[i]) continue;
    uint32_t raw = br.Get(t.bits);
    if (t.bits == 16) {
      v[i] = HalfToFloat(static_cast<uint16_t>(raw));
    } else {
      int32_t q = static_cast<int32_t>(raw << (32 - t.bits)) >> (32 - t.bits);  // sign-extend
      if (q < -qmax || q > qmax) return bad("value out of range at " + std::to_string(i));
      const int64_t row = i / t.cols, col = i % t.cols;
      v[i] = static_cast<float>(q) * scales[row * groups_per_row + col / t.group_size];
    }
  }
  if (t.sparse_encoding == 0) {
    // Dense storage of a pruned tensor: zeros are pruned or quantized to zero;
    // the mask is all ones (the format does not distinguish them).
  }
  r->Skip(value_bytes);
  return t;
}

}  // namespace

StatusOr<PackedArtifact> ReadPackedArtifact(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("artifact: cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParsePackedArtifact(ss.str());
}

StatusOr<PackedArtifact> ParsePackedArtifact(const std::string& bytes) {
  ByteReader r(bytes);
  if (!r.Has(8) || bytes.compare(0, 4, "KDNA") != 0) return DataLoss("artifact: not a KDNA file");
  r.Skip(4);
  const uint32_t version = r.U32();
  if (version == 1 || version == 2) {
    return DataLoss("artifact: format version " + std::to_string(version) + " (" +
                    (version == 1 ? "its MLPs were trained with the exact GELU"
                                  : "GPT-2 blocks only, a 64-byte header") +
                    "; this kdnas reads format version " + std::to_string(kArtifactFormatVersion) +
                    "): re-export the student with this version");
  }
  if (version != kArtifactFormatVersion) {
    return DataLoss("artifact: format version " + std::to_string(version));
  }
  if (!r.Has(kArtifactHeaderBytes - 8)) return DataLoss("artifact: truncated header");
  const uint32_t vocab = r.U32();
  Candidate c;
  Architecture& a = c.architecture;
  BlockFamily& f = a.family;
  a.num_layers = static_cast<int>(r.U32());
  a.d_model = static_cast<int>(r.U32());
  a.num_heads = static_cast<int>(r.U32());
  a.num_kv_heads = static_cast<int>(r.U32());
  a.fixed_head_dim = static_cast<int>(r.U32());
  a.context_length = static_cast<int>(r.U32());
  const uint32_t kind = r.U8();
  c.compression.weight_bits = static_cast<int>(r.U8());
  c.compression.embedding_bits = static_cast<int>(r.U8());
  a.tie_embeddings = r.U8() != 0;
  const uint32_t pattern = r.U8();
  const uint32_t scaling = r.U8();
  r.Skip(2);
  c.compression.group_size = static_cast<int32_t>(r.U32());
  c.compression.sparsity = r.F64();
  c.compression.low_rank_ratio = r.F64();
  f.norm_eps = r.F64();
  f.rope.theta = r.F64();
  f.rope.factor = r.F64();
  f.rope.low_freq_factor = r.F64();
  f.rope.high_freq_factor = r.F64();
  f.rope.original_max_position_embeddings = r.U32();
  const uint32_t tokenizer_bytes = r.U32();
  const uint32_t count = r.U32();
  r.Skip(12);
  if (kind > 2 || pattern > 2 || scaling > 2) return DataLoss("artifact: implausible header");
  f.kind = static_cast<FamilyKind>(kind);
  c.compression.sparsity_pattern = static_cast<SparsityPattern>(pattern);
  f.rope.scaling = static_cast<Rope::Scaling>(scaling);
  if (a.num_layers < 1 || a.num_layers > 4096 || a.num_heads < 1 || a.context_length < 1 ||
      (a.fixed_head_dim == 0 && a.d_model % a.num_heads != 0)) {
    return DataLoss("artifact: implausible header");
  }
  if (!r.Has(kArtifactLayerEntryBytes * static_cast<size_t>(a.num_layers)))
    return DataLoss("artifact: truncated layer table");
  for (int l = 0; l < a.num_layers; ++l) {
    LayerChoice choice;
    choice.num_heads = static_cast<int>(r.U32());
    choice.num_kv_heads = static_cast<int>(r.U32());
    choice.d_ff = static_cast<int>(r.U32());
    a.layers.push_back(choice);
  }
  a.d_ff = a.layers[0].d_ff;
  if (Status valid = ValidateCandidate(c, "artifact"); !valid.ok())
    return DataLoss("artifact: implausible header: " + valid.message());
  if (!r.Has(tokenizer_bytes)) return DataLoss("artifact: truncated tokenizer");
  auto tokenizer = JobTokenizer::Deserialize(r.Bytes(tokenizer_bytes));
  if (!tokenizer.ok()) return DataLoss("artifact: " + tokenizer.status().message());
  if (tokenizer->vocab_size() != static_cast<int>(vocab))
    return DataLoss("artifact: vocab_size differs from the tokenizer's");
  PackedArtifact art{c, *tokenizer, {}, static_cast<int64_t>(bytes.size())};
  // The tensors the header describes, in the layout's order and shapes.
  const ArtifactLayout layout = LayoutArtifact(c, vocab, tokenizer_bytes);
  if (layout.tensors.size() != count)
    return DataLoss("artifact: header says " + std::to_string(count) + " tensors, the layout " +
                    std::to_string(layout.tensors.size()));
  for (const TensorLayout& expected : layout.tensors) {
    KDNAS_ASSIGN_OR_RETURN(PackedTensor t, ReadTensor(&r, expected.name));
    if (t.rows != expected.rows || t.cols != expected.cols) {
      return DataLoss("artifact: " + expected.name + " is [" + std::to_string(t.rows) + ", " +
                      std::to_string(t.cols) + "], expected [" + std::to_string(expected.rows) +
                      ", " + std::to_string(expected.cols) + "]");
    }
    art.tensors.push_back(std::move(t));
  }
  if (r.pos() != r.size())
    return DataLoss("artifact: " + std::to_string(r.size() - r.pos()) + " trailing bytes");
  return art;
}

}  // namespace kdnas
