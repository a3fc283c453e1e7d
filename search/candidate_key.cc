#include "search/candidate_key.h"

#include <cstdio>
#include <set>
#include <sstream>

#include "search/ggml_types.h"
#include "search/number_text.h"

namespace kdnas {
namespace {

// llama.cpp's types as the student's GGUF file stores them: each class's
// type after llama.cpp's fallback for every row length the architecture gives
// that class. Formats that differ only where the fallback makes them equal
// (q2_k and q4_0 on rows of 128) make the same file and the same student.
std::string StoredGgufTypes(const Architecture& a, const GgufFormats& f) {
  std::set<int64_t> attention_rows = {a.d_model}, ffn_rows = {a.d_model};
  for (int l = 0; l < a.num_layers; ++l) {
    attention_rows.insert(static_cast<int64_t>(a.layer_heads(l)) * a.head_dim());
    ffn_rows.insert(a.layer_d_ff(l));
  }
  auto stored = [](GgmlType type, const std::set<int64_t>& rows) {
    std::string text;
    for (int64_t cols : rows) text.append("/").append(GgmlTypeName(GgmlFallbackType(type, cols)));
    return text;
  };
  std::string key = "attn" + stored(f.attention_type(), attention_rows) + " ffn" +
                    stored(f.ffn_type(), ffn_rows) + " emb" +
                    stored(f.embedding_type(), {a.d_model});
  if (!a.tie_embeddings) key += " out" + stored(f.output_type(), {a.d_model});
  // GPT-2's positions: F32 in an all-F32 file, else F16 (GgufWeightTypes).
  if (a.family.kind == FamilyKind::kGpt2 && *f.weight == GgmlType::kF32) key += " pos/f32";
  return key;
}

}  // namespace

Candidate Canonicalize(const Candidate& in) {
  Candidate c = in;
  auto& a = c.architecture;
  auto& q = c.compression;
  // Explicit values equal to what 0 stands for are 0.
  if (a.num_kv_heads == a.num_heads) a.num_kv_heads = 0;
  if (a.fixed_head_dim > 0 && a.d_model % a.num_heads == 0 &&
      a.fixed_head_dim == a.d_model / a.num_heads)
    a.fixed_head_dim = 0;
  for (size_t l = 0; l < a.layers.size(); ++l) {
    auto& layer = a.layers[l];
    if (layer.num_kv_heads == (a.num_kv_heads > 0 ? a.num_kv_heads : layer.num_heads))
      layer.num_kv_heads = 0;
  }
  if (!a.layers.empty()) {
    bool uniform = true;
    for (const auto& l : a.layers) uniform &= l == a.layers[0];
    // Uniform layers with every head kept are just the plain architecture.
    if (uniform && a.layers[0].num_heads == a.num_heads && a.layers[0].num_kv_heads == 0) {
      a.d_ff = a.layers[0].d_ff;
      a.layers.clear();
    }
  }
  if (q.gguf.set()) {  // llama.cpp's types imply the group-wise settings
    q.weight_bits = q.embedding_bits = 16;
    for (auto* o : {&q.gguf.attention, &q.gguf.ffn, &q.gguf.embedding, &q.gguf.output})
      if (*o == q.gguf.weight) o->reset();
  }
  if (q.weight_bits == 16 && q.embedding_bits == 16) q.group_size = 0;
  if (q.sparsity_pattern != SparsityPattern::kUnstructured) q.sparsity = 0;
  if (c.distillation.alpha == 0) c.distillation.temperature = 0;
  return c;
}

std::string CandidateKey(const Candidate& candidate) {
  Candidate c = Canonicalize(candidate);
  const auto& a = c.architecture;
  const auto& q = c.compression;
  const auto& d = c.distillation;
  std::ostringstream key;
  key << "L" << a.num_layers << " d" << a.d_model << " h" << a.num_heads << " ff" << a.d_ff << " c"
      << a.context_length << " tie" << (a.tie_embeddings ? 1 : 0);
  // GPT-2 keys read as they did before the Llama family existed.
  if (a.family.kind != FamilyKind::kGpt2) key << " " << FamilyKindName(a.family.kind);
  if (a.num_kv_heads > 0) key << " kv" << a.num_kv_heads;
  if (a.fixed_head_dim > 0) key << " hd" << a.fixed_head_dim;
  if (!a.layers.empty()) {
    key << " layers";
    for (const auto& l : a.layers) {
      key << " " << l.num_heads << "/" << l.d_ff;
      if (l.num_kv_heads > 0) key << "/kv" << l.num_kv_heads;
    }
  }
  key << " | w" << q.weight_bits << " g" << q.group_size << " e" << q.embedding_bits << " s"
      << NumberText(q.sparsity) << " nm" << static_cast<int>(q.sparsity_pattern) << " r"
      << NumberText(q.low_rank_ratio);
  if (q.gguf.set()) key << " gguf " << StoredGgufTypes(a, q.gguf);
  key << " | T" << NumberText(d.temperature) << " a" << NumberText(d.alpha)
      << (d.init == Init::kInherit ? " inherit" : " scratch");
  return key.str();
}

}  // namespace kdnas
