#include "workers/hf_model.h"

#include <cmath>

namespace kdnas {
namespace {

namespace F = torch::nn::functional;

// Causal softmax attention of q [B, H, T, D] over k, v [B, H, T, D].
torch::Tensor CausalAttention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v) {
  const int64_t T = q.size(2);
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  auto mask = torch::ones({T, T}, torch::kBool).triu(1);
  scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
  return torch::matmul(torch::softmax(scores, -1), v);
}

// [B, T, H * D] -> [B, H, T, D]
torch::Tensor SplitHeads(const torch::Tensor& x, int64_t heads, int64_t head_dim) {
  return x.view({x.size(0), x.size(1), heads, head_dim}).transpose(1, 2);
}

torch::Tensor MergeHeads(const torch::Tensor& x) {
  return x.transpose(1, 2).contiguous().view({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

torch::Tensor GeluNew(const torch::Tensor& x) {
  return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3))));
}

}  // namespace

StatusOr<HfModel> HfModel::Create(const HfModelConfig& config, const std::string& name_prefix,
                                  const TensorLoader& load) {
  HfModel model(config);
  torch::NoGradGuard no_grad;
  for (const HfTensorSpec& spec : HfTensorTable(config, name_prefix)) {
    auto tensor = load(spec);
    if (!tensor.ok() || !tensor->defined()) {
      if (spec.optional) continue;
      return InvalidArgument(
          spec.name + ": " +
          (tensor.ok() ? std::string("missing from the checkpoint") : tensor.status().message()));
    }
    if (tensor->sizes() != c10::IntArrayRef(spec.shape)) {
      return InvalidArgument(spec.name + ": shape " + ShapeText(tensor->sizes().vec()) +
                             ", expected " + ShapeText(spec.shape) + " from config.json");
    }
    if (spec.optional) continue;  // a tied model's copy of the embedding: unused
    model.weights_[{spec.part, spec.layer}] = tensor->to(torch::kFloat).contiguous();
  }
  if (config.tie_word_embeddings) {
    model.weights_[{HfPart::kOutput, -1}] = model.weights_.at({HfPart::kTokenEmbedding, -1});
  }
  return model;
}

torch::Tensor HfModel::Weight(HfPart part, int64_t layer) const {
  auto it = weights_.find({part, layer});
  return it == weights_.end() ? torch::Tensor() : it->second;
}

torch::Tensor HfModel::RmsNorm(const torch::Tensor& x, HfPart part, int64_t layer) const {
  auto variance = x.pow(2).mean(-1, /*keepdim=*/true);
  return Weight(part, layer) * (x * torch::rsqrt(variance + config_.norm_eps));
}

torch::Tensor HfModel::LayerNorm(const torch::Tensor& x, HfPart weight, HfPart bias,
                                 int64_t layer) const {
  return torch::layer_norm(x, {config_.hidden_size}, Weight(weight, layer), Weight(bias, layer),
                           config_.norm_eps);
}

torch::Tensor HfModel::LlamaLayer(int64_t i, const torch::Tensor& x,
                                  const RotaryTables& rotary) const {
  const HfModelConfig& c = config_;
  auto h = RmsNorm(x, HfPart::kAttentionNorm, i);
  auto q = SplitHeads(F::linear(h, Weight(HfPart::kQuery, i), Weight(HfPart::kQueryBias, i)),
                      c.num_heads, c.head_dim);
  auto k = SplitHeads(F::linear(h, Weight(HfPart::kKey, i), Weight(HfPart::kKeyBias, i)),
                      c.num_kv_heads, c.head_dim);
  auto v = SplitHeads(F::linear(h, Weight(HfPart::kValue, i), Weight(HfPart::kValueBias, i)),
                      c.num_kv_heads, c.head_dim);
  q = ApplyRotary(q, rotary);
  k = ApplyRotary(k, rotary);
  // transformers' repeat_kv: query head j reads KV head j / (heads / kv_heads).
  const int64_t groups = c.num_heads / c.num_kv_heads;
  k = k.repeat_interleave(groups, 1);
  v = v.repeat_interleave(groups, 1);
  auto attention = MergeHeads(CausalAttention(q, k, v));
  auto y = x + F::linear(attention, Weight(HfPart::kAttentionOutput, i));
  auto m = RmsNorm(y, HfPart::kMlpNorm, i);
  auto gated =
      torch::silu(F::linear(m, Weight(HfPart::kGate, i))) * F::linear(m, Weight(HfPart::kUp, i));
  return y + F::linear(gated, Weight(HfPart::kDown, i));
}

torch::Tensor HfModel::Gpt2Layer(int64_t i, const torch::Tensor& x) const {
  const HfModelConfig& c = config_;
  // Conv1D: y = x @ W + b with W stored [in, out].
  auto conv1d = [&](const torch::Tensor& in, HfPart w, HfPart b) {
    return torch::addmm(Weight(b, i), in.reshape({-1, in.size(-1)}), Weight(w, i))
        .view({in.size(0), in.size(1), -1});
  };
  auto h = LayerNorm(x, HfPart::kAttentionNorm, HfPart::kAttentionNormBias, i);
  auto qkv = conv1d(h, HfPart::kQkv, HfPart::kQkvBias).split(c.hidden_size, -1);
  auto attention = MergeHeads(CausalAttention(SplitHeads(qkv[0], c.num_heads, c.head_dim),
                                              SplitHeads(qkv[1], c.num_heads, c.head_dim),
                                              SplitHeads(qkv[2], c.num_heads, c.head_dim)));
  auto y = x + conv1d(attention, HfPart::kAttentionOutput, HfPart::kAttentionOutputBias);
  auto m = LayerNorm(y, HfPart::kMlpNorm, HfPart::kMlpNormBias, i);
  auto hidden = GeluNew(conv1d(m, HfPart::kUp, HfPart::kUpBias));
  return y + conv1d(hidden, HfPart::kDown, HfPart::kDownBias);
}

torch::Tensor HfModel::Logits(const torch::Tensor& ids) const {
  torch::NoGradGuard no_grad;
  const HfModelConfig& c = config_;
  const int64_t T = ids.size(1);
  TORCH_CHECK(T <= c.max_position_embeddings, "sequence of ", T,
              " tokens is longer than max_position_embeddings ", c.max_position_embeddings);
  auto x = F::embedding(ids, Weight(HfPart::kTokenEmbedding));
  if (c.family == HfFamily::kGpt2) {
    x = x + Weight(HfPart::kPositionEmbedding).narrow(0, 0, T);
    for (int64_t i = 0; i < c.num_layers; ++i) x = Gpt2Layer(i, x);
    x = LayerNorm(x, HfPart::kFinalNorm, HfPart::kFinalNormBias, -1);
  } else {
    const RotaryTables rotary = MakeRotaryTables(c.rope, c.head_dim, T);
    for (int64_t i = 0; i < c.num_layers; ++i) x = LlamaLayer(i, x, rotary);
    x = RmsNorm(x, HfPart::kFinalNorm, -1);
  }
  return F::linear(x, Weight(HfPart::kOutput));
}

}  // namespace kdnas
