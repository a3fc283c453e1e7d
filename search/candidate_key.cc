#include "search/candidate_key.h"

#include <cstdio>
#include <sstream>

namespace kdnas {
namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v == 0 ? 0.0 : v);
  return buf;
}

}  // namespace

Candidate Canonicalize(const Candidate& in) {
  Candidate c = in;
  auto& a = c.architecture;
  auto& q = c.compression;
  if (!a.layers.empty()) {
    bool uniform = true;
    for (const auto& l : a.layers) uniform &= l.num_heads == a.layers[0].num_heads && l.d_ff == a.layers[0].d_ff;
    // Uniform layers with every head kept are just the plain architecture.
    if (uniform && a.layers[0].num_heads == a.num_heads) {
      a.d_ff = a.layers[0].d_ff;
      a.layers.clear();
    }
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
  if (!a.layers.empty()) {
    key << " layers";
    for (const auto& l : a.layers) key << " " << l.num_heads << "/" << l.d_ff;
  }
  key << " | w" << q.weight_bits << " g" << q.group_size << " e" << q.embedding_bits << " s"
      << Num(q.sparsity) << " nm" << static_cast<int>(q.sparsity_pattern) << " r" << Num(q.low_rank_ratio);
  key << " | T" << Num(d.temperature) << " a" << Num(d.alpha)
      << (d.init == Init::kInherit ? " inherit" : " scratch");
  return key.str();
}

}  // namespace kdnas
