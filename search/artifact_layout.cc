#include "search/artifact_layout.h"

#include <algorithm>
#include <cmath>

namespace kdnas {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t Log2(int m) {
  int64_t bits = 0;
  while ((1 << bits) < m) ++bits;
  return bits;
}

// Fills in the byte counts of a tensor whose shape, role, bits and group are set.
void Encode(TensorLayout* t, const Compression& q) {
  const int64_t numel = t->numel();
  t->kept = numel;
  t->stored_values = numel;
  t->sparse = SparseEncoding::kDense;
  t->scale_bytes = t->bits < 16 ? t->rows * t->groups_per_row() * 2 : 0;
  auto value_bytes = [&](int64_t count) { return CeilDiv(count * t->bits, 8); };
  if (t->role == TensorRole::kLinear) {
    NofM nm = PatternNofM(q.sparsity_pattern);
    if (nm.m > 0) {
      t->sparse = SparseEncoding::kNofM;
      t->n = nm.n;
      t->m = nm.m;
      t->kept = numel / nm.m * nm.n;
      t->stored_values = t->kept;
      t->metadata_bytes = CeilDiv(numel / nm.m * nm.n * Log2(nm.m), 8);
    } else if (q.sparsity > 0) {
      t->kept = KeptCount(numel, q.sparsity);
      int64_t dense = value_bytes(numel);
      int64_t bitmap = CeilDiv(numel, 8) + value_bytes(t->kept);
      if (bitmap < dense) {
        t->sparse = SparseEncoding::kBitmap;
        t->stored_values = t->kept;
        t->metadata_bytes = CeilDiv(numel, 8);
      }
    }
  }
  t->value_bytes = value_bytes(t->stored_values);
}

TensorLayout Tensor(std::string name, TensorRole role, int64_t rows, int64_t cols,
                    const Compression& q) {
  TensorLayout t;
  t.name = std::move(name);
  t.role = role;
  t.rows = rows;
  t.cols = cols;
  switch (role) {
    case TensorRole::kVector:
      t.bits = 16;
      break;
    case TensorRole::kEmbedding:
      t.bits = q.embedding_bits;
      break;
    case TensorRole::kLinear:
    case TensorRole::kHead:
      t.bits = q.weight_bits;
      break;
  }
  if (t.bits < 16)
    t.group_size = q.group_size == Compression::kPerChannel ? static_cast<int>(cols) : q.group_size;
  Encode(&t, q);
  return t;
}

// Builds "prefix + suffix" only when names are wanted.
struct Namer {
  bool enabled;
  std::string operator()(const std::string& prefix, const char* suffix) const {
    return enabled ? prefix + suffix : std::string();
  }
};

void AddLinear(std::vector<TensorLayout>* out, const Namer& name, const std::string& base,
               int64_t rows, int64_t cols, const Compression& q, bool bias = true) {
  int64_t rank = LowRankRank(rows, cols, q.low_rank_ratio);
  if (rank > 0) {
    out->push_back(Tensor(name(base, ".u"), TensorRole::kLinear, rows, rank, q));
    out->push_back(Tensor(name(base, ".v"), TensorRole::kLinear, rank, cols, q));
  } else {
    out->push_back(Tensor(name(base, ""), TensorRole::kLinear, rows, cols, q));
  }
  if (bias) out->push_back(Tensor(name(base, ".bias"), TensorRole::kVector, 1, rows, q));
}

}  // namespace

int64_t KeptCount(int64_t numel, double sparsity) {
  return numel - static_cast<int64_t>(std::llround(sparsity * static_cast<double>(numel)));
}

int64_t LowRankRank(int64_t out, int64_t in, double ratio) {
  if (ratio <= 0) return 0;
  int64_t small = std::min(out, in);
  int64_t rank = static_cast<int64_t>(std::ceil(ratio * static_cast<double>(small) - 1e-9));
  rank = std::min(small, CeilDiv(std::max<int64_t>(rank, 1), 8) * 8);
  return rank * (out + in) < out * in ? rank : 0;
}

ArtifactLayout LayoutArtifact(const Candidate& c, int64_t vocab, int64_t tokenizer_bytes,
                              bool with_names) {
  const Architecture& a = c.architecture;
  const Compression& q = c.compression;
  const int64_t d = a.d_model;
  ArtifactLayout layout;
  layout.layer_table_bytes = kArtifactLayerEntryBytes * a.num_layers;
  layout.tokenizer_bytes = tokenizer_bytes;
  auto& t = layout.tensors;
  const Namer name{with_names};
  const std::string none;
  t.reserve(5 + 16 * static_cast<size_t>(a.num_layers));
  const bool llama = a.family.llama();
  t.push_back(Tensor(name(none, "tok_emb"), TensorRole::kEmbedding, vocab, d, q));
  if (!llama)
    t.push_back(Tensor(name(none, "pos_emb"), TensorRole::kEmbedding, a.context_length, d, q));
  for (int l = 0; l < a.num_layers; ++l) {
    const std::string p = with_names ? "layers." + std::to_string(l) + "." : std::string();
    const int64_t attn = static_cast<int64_t>(a.layer_heads(l)) * a.head_dim();
    const int64_t kv = static_cast<int64_t>(a.layer_kv_heads(l)) * a.head_dim();
    const int64_t ff = a.layer_d_ff(l);
    t.push_back(Tensor(name(p, "ln1.weight"), TensorRole::kVector, 1, d, q));
    if (llama) {
      const bool bias = a.family.qkv_bias();
      AddLinear(&t, name, name(p, "attn.q"), attn, d, q, bias);
      AddLinear(&t, name, name(p, "attn.k"), kv, d, q, bias);
      AddLinear(&t, name, name(p, "attn.v"), kv, d, q, bias);
      AddLinear(&t, name, name(p, "attn.proj"), d, attn, q, /*bias=*/false);
      t.push_back(Tensor(name(p, "ln2.weight"), TensorRole::kVector, 1, d, q));
      AddLinear(&t, name, name(p, "mlp.gate"), ff, d, q, /*bias=*/false);
      AddLinear(&t, name, name(p, "mlp.up"), ff, d, q, /*bias=*/false);
      AddLinear(&t, name, name(p, "mlp.proj"), d, ff, q, /*bias=*/false);
    } else {
      t.push_back(Tensor(name(p, "ln1.bias"), TensorRole::kVector, 1, d, q));
      AddLinear(&t, name, name(p, "attn.qkv"), 3 * attn, d, q);
      AddLinear(&t, name, name(p, "attn.proj"), d, attn, q);
      t.push_back(Tensor(name(p, "ln2.weight"), TensorRole::kVector, 1, d, q));
      t.push_back(Tensor(name(p, "ln2.bias"), TensorRole::kVector, 1, d, q));
      AddLinear(&t, name, name(p, "mlp.fc"), ff, d, q);
      AddLinear(&t, name, name(p, "mlp.proj"), d, ff, q);
    }
  }
  t.push_back(Tensor(name(none, "ln_f.weight"), TensorRole::kVector, 1, d, q));
  if (!llama) t.push_back(Tensor(name(none, "ln_f.bias"), TensorRole::kVector, 1, d, q));
  if (!a.tie_embeddings) t.push_back(Tensor(name(none, "lm_head"), TensorRole::kHead, vocab, d, q));
  layout.total_bytes = layout.header_bytes + layout.layer_table_bytes + layout.tokenizer_bytes;
  for (const auto& tensor : t) layout.total_bytes += tensor.total_bytes();
  return layout;
}

}  // namespace kdnas
