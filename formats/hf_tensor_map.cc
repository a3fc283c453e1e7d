#include "formats/hf_tensor_map.h"

#include <algorithm>
#include <span>

namespace kdnas {
namespace {

struct Entry {
  HfPart part;
  const char* name;  // under "layers.{i}." / "h.{i}." for layer parts
};

// Llama and Qwen2 (transformers' modeling_llama / modeling_qwen2 names).
constexpr Entry kLlamaLayer[] = {
    {HfPart::kAttentionNorm, "input_layernorm.weight"},
    {HfPart::kQuery, "self_attn.q_proj.weight"},
    {HfPart::kQueryBias, "self_attn.q_proj.bias"},
    {HfPart::kKey, "self_attn.k_proj.weight"},
    {HfPart::kKeyBias, "self_attn.k_proj.bias"},
    {HfPart::kValue, "self_attn.v_proj.weight"},
    {HfPart::kValueBias, "self_attn.v_proj.bias"},
    {HfPart::kAttentionOutput, "self_attn.o_proj.weight"},
    {HfPart::kMlpNorm, "post_attention_layernorm.weight"},
    {HfPart::kGate, "mlp.gate_proj.weight"},
    {HfPart::kUp, "mlp.up_proj.weight"},
    {HfPart::kDown, "mlp.down_proj.weight"},
};

// GPT-2 (modeling_gpt2): Conv1D weights are stored [in, out].
constexpr Entry kGpt2Layer[] = {
    {HfPart::kAttentionNorm, "ln_1.weight"},
    {HfPart::kAttentionNormBias, "ln_1.bias"},
    {HfPart::kQkv, "attn.c_attn.weight"},
    {HfPart::kQkvBias, "attn.c_attn.bias"},
    {HfPart::kAttentionOutput, "attn.c_proj.weight"},
    {HfPart::kAttentionOutputBias, "attn.c_proj.bias"},
    {HfPart::kMlpNorm, "ln_2.weight"},
    {HfPart::kMlpNormBias, "ln_2.bias"},
    {HfPart::kUp, "mlp.c_fc.weight"},
    {HfPart::kUpBias, "mlp.c_fc.bias"},
    {HfPart::kDown, "mlp.c_proj.weight"},
    {HfPart::kDownBias, "mlp.c_proj.bias"},
};

bool IsBias(HfPart part) {
  return part == HfPart::kQueryBias || part == HfPart::kKeyBias || part == HfPart::kValueBias;
}

std::vector<int64_t> ShapeOf(HfPart part, const HfModelConfig& c) {
  const int64_t h = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  const int64_t ff = c.intermediate_size;
  const bool gpt2 = c.family == HfFamily::kGpt2;
  switch (part) {
    case HfPart::kTokenEmbedding:
    case HfPart::kOutput:
      return {c.vocab_size, h};
    case HfPart::kPositionEmbedding:
      return {c.max_position_embeddings, h};
    case HfPart::kAttentionNorm:
    case HfPart::kAttentionNormBias:
    case HfPart::kMlpNorm:
    case HfPart::kMlpNormBias:
    case HfPart::kFinalNorm:
    case HfPart::kFinalNormBias:
    case HfPart::kAttentionOutputBias:
    case HfPart::kDownBias:
      return {h};
    case HfPart::kQuery:
      return {q, h};
    case HfPart::kQueryBias:
      return {q};
    case HfPart::kKey:
    case HfPart::kValue:
      return {kv, h};
    case HfPart::kKeyBias:
    case HfPart::kValueBias:
      return {kv};
    case HfPart::kQkv:
      return {h, 3 * h};
    case HfPart::kQkvBias:
      return {3 * h};
    case HfPart::kAttentionOutput:
      return gpt2 ? std::vector<int64_t>{h, h} : std::vector<int64_t>{h, q};
    case HfPart::kGate:
      return {ff, h};
    case HfPart::kUp:
      return gpt2 ? std::vector<int64_t>{h, ff} : std::vector<int64_t>{ff, h};
    case HfPart::kUpBias:
      return {ff};
    case HfPart::kDown:
      return gpt2 ? std::vector<int64_t>{ff, h} : std::vector<int64_t>{h, ff};
  }
  return {};
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<HfTensorSpec> HfTensorTable(const HfModelConfig& c, const std::string& prefix) {
  const bool gpt2 = c.family == HfFamily::kGpt2;
  std::vector<HfTensorSpec> table;
  auto add = [&](HfPart part, int64_t layer, std::string name) {
    table.push_back({part, layer, std::move(name), ShapeOf(part, c), false});
  };
  add(HfPart::kTokenEmbedding, -1, prefix + (gpt2 ? "wte.weight" : "embed_tokens.weight"));
  if (gpt2) add(HfPart::kPositionEmbedding, -1, prefix + "wpe.weight");
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string layer = prefix + (gpt2 ? "h." : "layers.") + std::to_string(i) + ".";
    for (const Entry& e :
         gpt2 ? std::span<const Entry>(kGpt2Layer) : std::span<const Entry>(kLlamaLayer)) {
      if (!gpt2 && IsBias(e.part) && !c.qkv_bias) continue;
      add(e.part, i, layer + e.name);
    }
  }
  add(HfPart::kFinalNorm, -1, prefix + (gpt2 ? "ln_f.weight" : "norm.weight"));
  if (gpt2) add(HfPart::kFinalNormBias, -1, prefix + "ln_f.bias");
  add(HfPart::kOutput, -1, "lm_head.weight");
  table.back().optional = c.tie_word_embeddings;
  return table;
}

std::string HfNamePrefix(const HfModelConfig& c, const std::vector<std::string>& names) {
  if (c.family != HfFamily::kGpt2) return "model.";
  const bool prefixed =
      std::find(names.begin(), names.end(), "transformer.wte.weight") != names.end();
  return prefixed ? "transformer." : "";
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool IsIgnoredHfTensor(const std::string& name) {
  return EndsWith(name, ".rotary_emb.inv_freq") || EndsWith(name, ".attn.bias") ||
         EndsWith(name, ".attn.masked_bias");
}

}  // namespace kdnas
