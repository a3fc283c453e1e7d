#include "search/candidate_key.h"

#include <cstdio>
#include <sstream>

#include "search/number_text.h"

namespace kdnas {
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
      << NumberText(q.sparsity) << " nm" << static_cast<int>(q.sparsity_pattern) << " r" << NumberText(q.low_rank_ratio);
  key << " | T" << NumberText(d.temperature) << " a" << NumberText(d.alpha)
      << (d.init == Init::kInherit ? " inherit" : " scratch");
  return key.str();
}

}  // namespace kdnas
