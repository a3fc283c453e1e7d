#include <cmath>

#include "search/number_text.h"
#include "search/search_space.h"

namespace kdnas {

namespace {

// The family's own rules: GPT-2 blocks have one KV head per query head;
// rotary embeddings rotate pairs of channels, so Llama heads are even.
Status ValidateFamily(const Architecture& a, const std::string& arch) {
  const BlockFamily& f = a.family;
  const std::string family = arch + "family.";
  if (!(f.norm_eps > 0 && f.norm_eps < 1)) {
    return InvalidArgument(family + "norm_eps: must be in (0, 1) (got " + NumberText(f.norm_eps) +
                           ")");
  }
  for (int l = 0; l < a.num_layers; ++l) {
    const int heads = a.layer_heads(l), kv = a.layer_kv_heads(l);
    const std::string at =
        a.layers.empty() ? arch + "num_kv_heads" : arch + "layers[" + std::to_string(l) + "]";
    if (!f.llama() && kv != heads) {
      return InvalidArgument(at + ": GPT-2 blocks have as many key/value heads as query heads (" +
                             std::to_string(kv) + " != " + std::to_string(heads) +
                             "); grouped-query attention is for the Llama family");
    }
    if (kv > heads || heads % kv != 0) {
      return InvalidArgument(at + ": the query heads (" + std::to_string(heads) +
                             ") must be a multiple of the key/value heads (" + std::to_string(kv) +
                             ")");
    }
  }
  if (!f.llama()) return Status::Ok();
  if (a.head_dim() % 2 != 0) {
    return InvalidArgument(arch + (a.fixed_head_dim > 0 ? "head_dim" : "num_heads") +
                           ": rotary positions need an even head width (got " +
                           std::to_string(a.head_dim()) + ")");
  }
  const Rope& r = f.rope;
  if (!(r.theta > 0 && std::isfinite(r.theta))) {
    return InvalidArgument(family + "rope.theta: must be positive (got " + NumberText(r.theta) +
                           ")");
  }
  if (r.scaling != Rope::Scaling::kNone && !(r.factor > 0 && std::isfinite(r.factor))) {
    return InvalidArgument(family + "rope.factor: must be positive (got " + NumberText(r.factor) +
                           ")");
  }
  if (r.scaling == Rope::Scaling::kLlama3 &&
      (r.original_max_position_embeddings <= 0 || !(r.low_freq_factor > 0) ||
       !(r.high_freq_factor > r.low_freq_factor))) {
    return InvalidArgument(family +
                           "rope: llama3 scaling needs original_max_position_embeddings > 0 and "
                           "0 < low_freq_factor < high_freq_factor");
  }
  return Status::Ok();
}

// llama.cpp's types: what they imply of the group-wise settings, and what
// llama.cpp cannot run (docs/gguf.md).
Status ValidateGgufFormats(const Candidate& c, const std::string& arch, const std::string& comp) {
  const Architecture& a = c.architecture;
  const Compression& q = c.compression;
  const GgufFormats& f = q.gguf;
  if (!f.set()) {
    const char* field = f.attention   ? "attention_format"
                        : f.ffn       ? "ffn_format"
                        : f.embedding ? "embedding_format"
                                      : "output_format";
    if (f.any_override()) {
      return InvalidArgument(comp + field +
                             ": overrides one of llama.cpp's types, so it needs a weight_format "
                             "of them (weight_format is kdnas)");
    }
    return Status::Ok();
  }
  const std::string weight(GgmlTypeName(*f.weight));
  auto implied = [&](const char* field, int value, GgmlType type) -> Status {
    const int bits = GgmlTypeOf(type).nominal_bits;
    if (value == 16 || value == bits) return Status::Ok();  // 16: the default, unset
    return InvalidArgument(comp + field + ": " + std::string(GgmlTypeName(type)) + " stores " +
                           std::to_string(bits) + "-bit weights; leave " + field +
                           " unset with a weight_format (got " + std::to_string(value) + ")");
  };
  KDNAS_RETURN_IF_ERROR(implied("weight_bits", q.weight_bits, *f.weight));
  KDNAS_RETURN_IF_ERROR(implied("embedding_bits", q.embedding_bits, f.embedding_type()));
  const int block = GgmlTypeOf(*f.weight).block_elements;
  if (q.group_size != 128 && q.group_size != block) {
    return InvalidArgument(comp + "group_size: weight_format " + weight + " sets its own blocks (" +
                           std::to_string(block) + " weights); leave group_size unset (got " +
                           std::to_string(q.group_size) + ")");
  }
  if (q.sparsity > 0 || q.sparsity_pattern != SparsityPattern::kUnstructured) {
    return InvalidArgument(comp + (q.sparsity > 0 ? "sparsity" : "sparsity_pattern") +
                           ": llama.cpp runs no sparse weights; not with weight_format " + weight);
  }
  if (q.low_rank_ratio > 0) {
    return InvalidArgument(comp +
                           "low_rank_ratio: llama.cpp runs no low-rank factors; not with "
                           "weight_format " +
                           weight);
  }
  if (a.family.kind == FamilyKind::kGpt2) {
    for (int l = 1; l < a.num_layers; ++l) {
      if (a.layer_heads(l) != a.layer_heads(0) || a.layer_d_ff(l) != a.layer_d_ff(0)) {
        return InvalidArgument(arch +
                               "layers: llama.cpp's gpt2 architecture has layers of one "
                               "width and head count; keep them uniform with weight_format " +
                               weight);
      }
    }
    if (a.head_dim() * a.layer_heads(0) != a.d_model) {
      return InvalidArgument(arch +
                             "head_dim: llama.cpp's gpt2 architecture needs heads of "
                             "d_model / num_heads values with weight_format " +
                             weight);
    }
  } else if (a.family.rope.scaling == Rope::Scaling::kLlama3 &&
             a.family.kind != FamilyKind::kLlama) {
    return InvalidArgument(arch +
                           "family.rope: llama.cpp reads a llama3 rotary scaling only for the "
                           "llama architecture; not with weight_format " +
                           weight);
  }
  return Status::Ok();
}

}  // namespace

Status ValidateCandidate(const Candidate& c, const std::string& prefix) {
  const auto& a = c.architecture;
  const auto& q = c.compression;
  const auto& d = c.distillation;
  const std::string arch = prefix + ".architecture.";
  const std::string comp = prefix + ".compression.";
  KDNAS_RETURN_IF_ERROR(CheckKnobValue(Knob::kNumLayers, a.num_layers, arch + "num_layers"));
  KDNAS_RETURN_IF_ERROR(CheckKnobValue(Knob::kDModel, a.d_model, arch + "d_model"));
  KDNAS_RETURN_IF_ERROR(CheckKnobValue(Knob::kNumHeads, a.num_heads, arch + "num_heads"));
  KDNAS_RETURN_IF_ERROR(CheckKnobValue(Knob::kDFf, a.d_ff, arch + "d_ff"));
  KDNAS_RETURN_IF_ERROR(
      CheckKnobValue(Knob::kContextLength, a.context_length, arch + "context_length"));
  if (a.fixed_head_dim > 0) {
    KDNAS_RETURN_IF_ERROR(CheckKnobValue(Knob::kHeadDim, a.fixed_head_dim, arch + "head_dim"));
  } else if (a.d_model % a.num_heads != 0) {
    return InvalidArgument(arch + "d_model: must be divisible by num_heads (" +
                           std::to_string(a.d_model) + " % " + std::to_string(a.num_heads) +
                           " != 0), or set head_dim");
  }
  if (a.num_kv_heads > 0)
    KDNAS_RETURN_IF_ERROR(CheckKnobValue(Knob::kNumKvHeads, a.num_kv_heads, arch + "num_kv_heads"));
  if (!a.layers.empty() && static_cast<int>(a.layers.size()) != a.num_layers) {
    return InvalidArgument(arch + "layers: has " + std::to_string(a.layers.size()) +
                           " entries; must be empty or num_layers (" +
                           std::to_string(a.num_layers) + ")");
  }
  for (size_t l = 0; l < a.layers.size(); ++l) {
    const std::string at = arch + "layers[" + std::to_string(l) + "].";
    if (a.layers[l].num_heads < 1 || a.layers[l].num_heads > a.num_heads) {
      return InvalidArgument(at + "num_heads: must be in 1..num_heads (" +
                             std::to_string(a.num_heads) + ")");
    }
    KDNAS_RETURN_IF_ERROR(CheckKnobValue(Knob::kDFf, a.layers[l].d_ff, at + "d_ff"));
    if (a.layers[l].num_kv_heads < 0 || a.layers[l].num_kv_heads > a.layers[l].num_heads) {
      return InvalidArgument(at + "num_kv_heads: must be in 0..num_heads of the layer (" +
                             std::to_string(a.layers[l].num_heads) + ")");
    }
  }
  KDNAS_RETURN_IF_ERROR(ValidateFamily(a, arch));
  KDNAS_RETURN_IF_ERROR(CheckKnobValue(Knob::kWeightBits, q.weight_bits, comp + "weight_bits"));
  KDNAS_RETURN_IF_ERROR(CheckKnobValue(Knob::kGroupSize, q.group_size, comp + "group_size"));
  KDNAS_RETURN_IF_ERROR(
      CheckKnobValue(Knob::kEmbeddingBits, q.embedding_bits, comp + "embedding_bits"));
  KDNAS_RETURN_IF_ERROR(CheckKnobValue(Knob::kSparsity, q.sparsity, comp + "sparsity"));
  KDNAS_RETURN_IF_ERROR(
      CheckKnobValue(Knob::kLowRankRatio, q.low_rank_ratio, comp + "low_rank_ratio"));
  NofM nm = PatternNofM(q.sparsity_pattern);
  if (nm.m > 0) {
    // Every pruned matrix's input dimension must split into groups of M.
    for (int l = 0; l < a.num_layers; ++l) {
      int attn = a.layer_heads(l) * a.head_dim();
      int ff = a.layer_d_ff(l);
      for (int cols : {a.d_model, attn, ff}) {
        if (cols % nm.m != 0) {
          return InvalidArgument(comp + "sparsity_pattern: " + std::to_string(nm.n) + ":" +
                                 std::to_string(nm.m) + " needs every layer width divisible by " +
                                 std::to_string(nm.m) + " (layer " + std::to_string(l) + " has " +
                                 std::to_string(cols) + ")");
        }
      }
    }
  }
  KDNAS_RETURN_IF_ERROR(ValidateGgufFormats(c, arch, comp));
  KDNAS_RETURN_IF_ERROR(
      CheckKnobValue(Knob::kTemperature, d.temperature, prefix + ".distillation.temperature"));
  KDNAS_RETURN_IF_ERROR(CheckKnobValue(Knob::kAlpha, d.alpha, prefix + ".distillation.alpha"));
  return Status::Ok();
}

}  // namespace kdnas
