#include "workers/gpt.h"

#include <cmath>
#include <limits>

#include "workers/pruning.h"
#include "workers/quantize.h"

namespace kdnas {

std::pair<torch::Tensor, torch::Tensor> SvdFactors(const torch::Tensor& w, int64_t rank) {
  torch::NoGradGuard no_grad;
  auto [U, S, Vh] =
      torch::linalg::svd(w.detach().to(torch::kFloat), /*full_matrices=*/false, c10::nullopt);
  auto root = S.narrow(0, 0, rank).sqrt();
  auto u = (U.narrow(1, 0, rank) * root.unsqueeze(0)).contiguous();
  auto v = (Vh.narrow(0, 0, rank) * root.unsqueeze(1)).contiguous();
  return {u, v};
}

CompressedLinearImpl::CompressedLinearImpl(int64_t out, int64_t in, int64_t rank, bool masked)
    : rank_(rank) {
  if (rank > 0) {
    u = register_parameter("u", torch::zeros({out, rank}));
    v = register_parameter("v", torch::zeros({rank, in}));
    if (masked) {
      u_mask = register_buffer("u_mask", torch::ones({out, rank}));
      v_mask = register_buffer("v_mask", torch::ones({rank, in}));
    }
  } else {
    weight = register_parameter("weight", torch::zeros({out, in}));
    if (masked) weight_mask = register_buffer("weight_mask", torch::ones({out, in}));
  }
  bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor CompressedLinearImpl::Effective(const torch::Tensor& p,
                                              const torch::Tensor& mask) const {
  if (deployed) return p;
  torch::Tensor w = mask.defined() ? p * mask : p;
  if (qat && bits < 16) w = FakeQuantize(w, bits, EffectiveGroupSize(bits, group_size, w.size(1)));
  return w;
}

torch::Tensor CompressedLinearImpl::forward(const torch::Tensor& x) {
  if (rank_ > 0) {
    auto h = torch::linear(x, Effective(v, v_mask));
    return torch::linear(h, Effective(u, u_mask), bias);
  }
  return torch::linear(x, Effective(weight, weight_mask), bias);
}

std::vector<CompressedLinearImpl::Matrix> CompressedLinearImpl::matrices() {
  if (rank_ > 0) return {{".u", &u, &u_mask}, {".v", &v, &v_mask}};
  return {{"", &weight, &weight_mask}};
}

NormImpl::NormImpl(int64_t d) {
  weight = register_parameter("weight", torch::ones({d}));
  bias = register_parameter("bias", torch::zeros({d}));
}

torch::Tensor NormImpl::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {weight.size(0)}, weight, bias, 1e-5);
}

namespace {

bool Masked(const Compression& c) {
  return c.sparsity > 0 || c.sparsity_pattern != SparsityPattern::kUnstructured;
}

CompressedLinear MakeLinear(const GptConfig& config, int64_t out, int64_t in) {
  const Compression& c = config.compression;
  CompressedLinear lin(out, in, LowRankRank(out, in, c.low_rank_ratio), Masked(c));
  lin->bits = c.weight_bits;
  lin->group_size = c.group_size;
  lin->qat = config.quantization_aware;
  return lin;
}

}  // namespace

BlockImpl::BlockImpl(const GptConfig& config, int layer) {
  const Architecture& a = config.architecture;
  heads = a.layer_heads(layer);
  head_dim = a.head_dim();
  d_ff = a.layer_d_ff(layer);
  const int64_t d = a.d_model, width = static_cast<int64_t>(heads) * head_dim;
  ln1 = register_module("ln1", Norm(d));
  attn = register_module("attn", std::make_shared<torch::nn::Module>());
  qkv = attn->register_module("qkv", MakeLinear(config, 3 * width, d));
  attn_proj = attn->register_module("proj", MakeLinear(config, d, width));
  ln2 = register_module("ln2", Norm(d));
  mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
  fc = mlp->register_module("fc", MakeLinear(config, d_ff, d));
  mlp_proj = mlp->register_module("proj", MakeLinear(config, d, d_ff));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& causal_bias,
                                 LayerStats* stats) {
  const int64_t B = x.size(0), T = x.size(1), width = static_cast<int64_t>(heads) * head_dim;
  auto h = ln1(x);
  // [B, T, 3, H, D] -> [3, B, H, T, D]
  auto qkv_out = qkv(h).view({B, T, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
  auto q = qkv_out[0].reshape({B * heads, T, head_dim});
  auto k = qkv_out[1].reshape({B * heads, T, head_dim});
  auto v = qkv_out[2].reshape({B * heads, T, head_dim});
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  auto att =
      torch::baddbmm(causal_bias.narrow(0, 0, T).narrow(1, 0, T), q, k.transpose(1, 2), 1.0, scale);
  att = torch::softmax(att, -1);
  auto y = torch::bmm(att, v);  // [B*H, T, D]
  auto y_heads = y.view({B, heads, T, head_dim});
  auto merged = y_heads.transpose(1, 2).reshape({B, T, width});
  auto x1 = x + attn_proj(merged);
  auto h2 = ln2(x1);
  auto act = torch::gelu(fc(h2), "tanh");  // gelu_new, as GPT-2 and llama.cpp compute it
  auto out = x1 + mlp_proj(act);
  if (stats) {
    torch::NoGradGuard no_grad;
    stats->ln_channel_abs +=
        (h.abs().sum(torch::IntArrayRef{0, 1}) + h2.abs().sum(torch::IntArrayRef{0, 1}));
    stats->head_norm += y_heads.norm(2, {3}).sum(torch::IntArrayRef{0, 2});
    auto qh = q.view({B, heads, T, head_dim}), kh = k.view({B, heads, T, head_dim});
    stats->qk_dim_abs += (qh * kh).abs().sum(torch::IntArrayRef{0, 2});
    stats->v_dim_abs += v.view({B, heads, T, head_dim}).abs().sum(torch::IntArrayRef{0, 2});
    stats->mlp_abs += act.abs().sum(torch::IntArrayRef{0, 1});
    auto cos = torch::cosine_similarity(x, out, -1);
    stats->block_importance += (1 - cos).sum().item<double>();
  }
  return out;
}

GptImpl::GptImpl(const GptConfig& config) : config_(config) {
  const Architecture& a = config.architecture;
  const int64_t d = a.d_model, C = a.context_length, V = config.vocab_size;
  tok_emb = register_parameter("tok_emb", torch::zeros({V, d}));
  pos_emb = register_parameter("pos_emb", torch::zeros({C, d}));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int l = 0; l < a.num_layers; ++l) layers->push_back(Block(config, l));
  ln_f = register_module("ln_f", Norm(d));
  if (!a.tie_embeddings) {
    lm_head = register_module("lm_head", std::make_shared<torch::nn::Module>());
    lm_head_weight = lm_head->register_parameter("weight", torch::zeros({V, d}));
  }
  causal_bias_ = register_buffer(
      "causal_bias", torch::full({C, C}, -std::numeric_limits<float>::infinity()).triu(1));
  InitScratch();
}

void GptImpl::InitScratch() {
  torch::NoGradGuard no_grad;
  const int L = config_.architecture.num_layers;
  const double std_proj = 0.02 / std::sqrt(2.0 * L);
  tok_emb.normal_(0, 0.02);
  pos_emb.normal_(0, 0.02);
  if (lm_head_weight.defined()) lm_head_weight.normal_(0, 0.02);
  for (auto& m : *layers) {
    auto* block = m->as<BlockImpl>();
    for (auto* lin :
         {block->qkv.get(), block->attn_proj.get(), block->fc.get(), block->mlp_proj.get()}) {
      const bool proj = lin == block->attn_proj.get() || lin == block->mlp_proj.get();
      const double std = proj ? std_proj : 0.02;
      lin->bias.zero_();
      if (lin->low_rank()) {
        auto dense = torch::empty({lin->u.size(0), lin->v.size(1)}).normal_(0, std);
        auto [u, v] = SvdFactors(dense, lin->u.size(1));
        lin->u.copy_(u);
        lin->v.copy_(v);
      } else {
        lin->weight.normal_(0, std);
      }
    }
    block->ln1->weight.fill_(1);
    block->ln1->bias.zero_();
    block->ln2->weight.fill_(1);
    block->ln2->bias.zero_();
  }
  ln_f->weight.fill_(1);
  ln_f->bias.zero_();
}

torch::Tensor GptImpl::EffectiveEmbedding(const torch::Tensor& e) const {
  if (deployed_ || !config_.quantization_aware) return e;
  const int bits = config_.compression.embedding_bits;
  return FakeQuantize(e, bits, EffectiveGroupSize(bits, config_.compression.group_size, e.size(1)));
}

torch::Tensor GptImpl::forward(const torch::Tensor& idx, ActivationStats* stats) {
  const int64_t T = idx.size(1);
  auto tok = EffectiveEmbedding(tok_emb);
  auto x = torch::embedding(tok, idx) + EffectiveEmbedding(pos_emb).narrow(0, 0, T);
  if (stats && stats->layers.empty()) {
    for (auto& m : *layers) {
      auto* b = m->as<BlockImpl>();
      LayerStats s;
      const int64_t d = config_.architecture.d_model;
      s.ln_channel_abs = torch::zeros({d});
      s.head_norm = torch::zeros({b->heads});
      s.qk_dim_abs = torch::zeros({b->heads, b->head_dim});
      s.v_dim_abs = torch::zeros({b->heads, b->head_dim});
      s.mlp_abs = torch::zeros({b->d_ff});
      stats->layers.push_back(s);
    }
  }
  int l = 0;
  for (auto& m : *layers) {
    x = m->as<BlockImpl>()->forward(x, causal_bias_, stats ? &stats->layers[l] : nullptr);
    ++l;
  }
  if (stats) stats->tokens += idx.numel();
  x = ln_f(x);
  if (lm_head_weight.defined()) {
    torch::Tensor w = lm_head_weight;
    if (!deployed_ && config_.quantization_aware && config_.compression.weight_bits < 16) {
      const int bits = config_.compression.weight_bits;
      w = FakeQuantize(w, bits,
                       EffectiveGroupSize(bits, config_.compression.group_size, w.size(1)));
    }
    return torch::linear(x, w);
  }
  return torch::linear(x, tok);
}

std::vector<WeightRef> GptImpl::Weights() {
  const Compression& c = config_.compression;
  std::vector<WeightRef> out;
  auto vec = [&](const std::string& name, torch::Tensor* p) {
    out.push_back({name, TensorRole::kVector, p, nullptr, 16, 0});
  };
  out.push_back(
      {"tok_emb", TensorRole::kEmbedding, &tok_emb, nullptr, c.embedding_bits, c.group_size});
  out.push_back(
      {"pos_emb", TensorRole::kEmbedding, &pos_emb, nullptr, c.embedding_bits, c.group_size});
  int l = 0;
  for (auto& m : *layers) {
    auto* b = m->as<BlockImpl>();
    const std::string p = "layers." + std::to_string(l++) + ".";
    auto lin = [&](const std::string& name, CompressedLinearImpl* lin) {
      for (auto& mat : lin->matrices()) {
        out.push_back({p + name + mat.suffix, TensorRole::kLinear, mat.param, mat.mask,
                       c.weight_bits, c.group_size});
      }
      vec(p + name + ".bias", &lin->bias);
    };
    vec(p + "ln1.weight", &b->ln1->weight);
    vec(p + "ln1.bias", &b->ln1->bias);
    lin("attn.qkv", b->qkv.get());
    lin("attn.proj", b->attn_proj.get());
    vec(p + "ln2.weight", &b->ln2->weight);
    vec(p + "ln2.bias", &b->ln2->bias);
    lin("mlp.fc", b->fc.get());
    lin("mlp.proj", b->mlp_proj.get());
  }
  vec("ln_f.weight", &ln_f->weight);
  vec("ln_f.bias", &ln_f->bias);
  if (lm_head_weight.defined()) {
    out.push_back(
        {"lm_head", TensorRole::kHead, &lm_head_weight, nullptr, c.weight_bits, c.group_size});
  }
  return out;
}

void GptImpl::UpdateMasks(double sparsity) {
  torch::NoGradGuard no_grad;
  for (auto& w : Weights()) {
    if (!w.mask || !w.mask->defined()) continue;
    w.mask->copy_(PruningMask(*w.param, config_.compression, sparsity));
    w.param->mul_(*w.mask);
  }
}

void GptImpl::Deploy() {
  torch::NoGradGuard no_grad;
  for (auto& w : Weights()) {
    torch::Tensor value = *w.param;
    if (w.mask && w.mask->defined()) value = value * *w.mask;
    const int64_t cols = value.dim() == 2 ? value.size(1) : value.size(0);
    w.param->copy_(DeployedValue(value, w.bits, EffectiveGroupSize(w.bits, w.group_size, cols)));
  }
  for (auto& m : *layers) {
    auto* b = m->as<BlockImpl>();
    for (auto* lin : {b->qkv.get(), b->attn_proj.get(), b->fc.get(), b->mlp_proj.get()})
      lin->deployed = true;
  }
  deployed_ = true;
}

}  // namespace kdnas
