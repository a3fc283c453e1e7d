#include "workers/gpt.h"

#include <cmath>
#include <limits>

#include "formats/gguf_architecture.h"
#include "workers/gguf_quantize.h"
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

CompressedLinearImpl::CompressedLinearImpl(int64_t out, int64_t in, int64_t rank, bool masked,
                                           bool has_bias)
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
  if (has_bias) bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor CompressedLinearImpl::Effective(const torch::Tensor& p,
                                              const torch::Tensor& mask) const {
  if (deployed) return p;
  torch::Tensor w = mask.defined() ? p * mask : p;
  if (qat && gguf_type) return GgufFakeQuantize(w, *gguf_type);
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

torch::Tensor CompressedLinearImpl::DenseWeight() const {
  torch::NoGradGuard no_grad;
  auto masked = [](const torch::Tensor& p, const torch::Tensor& mask) {
    return mask.defined() ? p * mask : p.clone();
  };
  if (rank_ > 0) return torch::mm(masked(u, u_mask), masked(v, v_mask));
  return masked(weight, weight_mask);
}

std::vector<CompressedLinearImpl::Matrix> CompressedLinearImpl::matrices() {
  if (rank_ > 0) return {{".u", &u, &u_mask}, {".v", &v, &v_mask}};
  return {{"", &weight, &weight_mask}};
}

NormImpl::NormImpl(int64_t d, const BlockFamily& family)
    : rms_(family.llama()), eps_(family.norm_eps) {
  weight = register_parameter("weight", torch::ones({d}));
  if (!rms_) bias = register_parameter("bias", torch::zeros({d}));
}

torch::Tensor NormImpl::forward(const torch::Tensor& x) {
  if (rms_) return weight * (x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps_));
  return torch::layer_norm(x, {weight.size(0)}, weight, bias, eps_);
}

namespace {

bool Masked(const Compression& c) {
  return c.sparsity > 0 || c.sparsity_pattern != SparsityPattern::kUnstructured;
}

// With llama.cpp's types: the type the GGUF file stores a matrix of class
// `cls` with `cols`-value rows in, as formats/gguf_architecture.h lays the
// file out (GgufWeightTypesOf, then llama.cpp's fallback).
std::optional<GgmlType> GgufStored(const Compression& c, GgmlType GgufWeightTypes::*cls,
                                   int64_t cols) {
  if (!c.gguf.set()) return std::nullopt;
  return GgmlFallbackType(GgufWeightTypesOf(c.gguf).*cls, cols);
}

enum class LinearClass { kAttention, kFfn };

CompressedLinear MakeLinear(const GptConfig& config, LinearClass cls, int64_t out, int64_t in,
                            bool bias = true) {
  const Compression& c = config.compression;
  CompressedLinear lin(out, in, LowRankRank(out, in, c.low_rank_ratio), Masked(c), bias);
  lin->gguf_type = GgufStored(
      c, cls == LinearClass::kAttention ? &GgufWeightTypes::attention : &GgufWeightTypes::ffn, in);
  lin->bits = lin->gguf_type ? 16 : c.weight_bits;
  lin->group_size = c.group_size;
  lin->qat = config.quantization_aware;
  return lin;
}

// Adds what one layer's attention and MLP tell about the importance of its
// channels, heads and MLP neurons (inheritance ranks them by these).
void AddHeadStats(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                  const torch::Tensor& y_heads, LayerStats* stats) {
  torch::NoGradGuard no_grad;
  stats->head_norm += y_heads.norm(2, {3}).sum(torch::IntArrayRef{0, 2});
  stats->qk_dim_abs += (q * k).abs().sum(torch::IntArrayRef{0, 2});
  stats->v_dim_abs += v.abs().sum(torch::IntArrayRef{0, 2});
}

void AddBlockStats(const torch::Tensor& x, const torch::Tensor& h, const torch::Tensor& h2,
                   const torch::Tensor& act, const torch::Tensor& out, LayerStats* stats) {
  torch::NoGradGuard no_grad;
  stats->ln_channel_abs +=
      (h.abs().sum(torch::IntArrayRef{0, 1}) + h2.abs().sum(torch::IntArrayRef{0, 1}));
  stats->mlp_abs += act.abs().sum(torch::IntArrayRef{0, 1});
  auto cos = torch::cosine_similarity(x, out, -1);
  stats->block_importance += (1 - cos).sum().item<double>();
}

}  // namespace

BlockImpl::BlockImpl(const GptConfig& config, int layer) {
  const Architecture& a = config.architecture;
  heads = a.layer_heads(layer);
  kv_heads = a.layer_kv_heads(layer);
  head_dim = a.head_dim();
  d_ff = a.layer_d_ff(layer);
  llama = a.family.llama();
  const int64_t d = a.d_model, width = static_cast<int64_t>(heads) * head_dim,
                kv_width = static_cast<int64_t>(kv_heads) * head_dim;
  ln1 = register_module("ln1", Norm(d, a.family));
  attn = register_module("attn", std::make_shared<torch::nn::Module>());
  if (llama) {
    const bool bias = a.family.qkv_bias();
    q = attn->register_module("q", MakeLinear(config, LinearClass::kAttention, width, d, bias));
    k = attn->register_module("k", MakeLinear(config, LinearClass::kAttention, kv_width, d, bias));
    v = attn->register_module("v", MakeLinear(config, LinearClass::kAttention, kv_width, d, bias));
    attn_proj = attn->register_module(
        "proj", MakeLinear(config, LinearClass::kAttention, d, width, /*bias=*/false));
  } else {
    qkv = attn->register_module("qkv", MakeLinear(config, LinearClass::kAttention, 3 * width, d));
    attn_proj =
        attn->register_module("proj", MakeLinear(config, LinearClass::kAttention, d, width));
  }
  ln2 = register_module("ln2", Norm(d, a.family));
  mlp = register_module("mlp", std::make_shared<torch::nn::Module>());
  if (llama) {
    gate = mlp->register_module("gate",
                                MakeLinear(config, LinearClass::kFfn, d_ff, d, /*bias=*/false));
    up = mlp->register_module("up", MakeLinear(config, LinearClass::kFfn, d_ff, d, /*bias=*/false));
    mlp_proj = mlp->register_module("proj",
                                    MakeLinear(config, LinearClass::kFfn, d, d_ff, /*bias=*/false));
  } else {
    fc = mlp->register_module("fc", MakeLinear(config, LinearClass::kFfn, d_ff, d));
    mlp_proj = mlp->register_module("proj", MakeLinear(config, LinearClass::kFfn, d, d_ff));
  }
}

std::vector<BlockImpl::NamedLinear> BlockImpl::attention_linears() {
  if (llama) {
    return {{"attn.q", q.get()},
            {"attn.k", k.get()},
            {"attn.v", v.get()},
            {"attn.proj", attn_proj.get()}};
  }
  return {{"attn.qkv", qkv.get()}, {"attn.proj", attn_proj.get()}};
}

std::vector<BlockImpl::NamedLinear> BlockImpl::mlp_linears() {
  if (llama) return {{"mlp.gate", gate.get()}, {"mlp.up", up.get()}, {"mlp.proj", mlp_proj.get()}};
  return {{"mlp.fc", fc.get()}, {"mlp.proj", mlp_proj.get()}};
}

torch::Tensor BlockImpl::Gpt2Attention(const torch::Tensor& h, const torch::Tensor& causal_bias,
                                       LayerStats* stats) {
  const int64_t B = h.size(0), T = h.size(1), width = static_cast<int64_t>(heads) * head_dim;
  // [B, T, 3, H, D] -> [3, B, H, T, D]
  auto qkv_out = qkv(h).view({B, T, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
  auto qs = qkv_out[0].reshape({B * heads, T, head_dim});
  auto ks = qkv_out[1].reshape({B * heads, T, head_dim});
  auto vs = qkv_out[2].reshape({B * heads, T, head_dim});
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  auto att = torch::baddbmm(causal_bias.narrow(0, 0, T).narrow(1, 0, T), qs, ks.transpose(1, 2),
                            1.0, scale);
  att = torch::softmax(att, -1);
  auto y_heads = torch::bmm(att, vs).view({B, heads, T, head_dim});
  if (stats) {
    AddHeadStats(qs.view({B, heads, T, head_dim}), ks.view({B, heads, T, head_dim}),
                 vs.view({B, heads, T, head_dim}), y_heads, stats);
  }
  return y_heads.transpose(1, 2).reshape({B, T, width});
}

torch::Tensor BlockImpl::LlamaAttention(const torch::Tensor& h, const torch::Tensor& causal_bias,
                                        const RotaryTables& rotary, LayerStats* stats) {
  const int64_t B = h.size(0), T = h.size(1), width = static_cast<int64_t>(heads) * head_dim;
  auto split = [&](const torch::Tensor& t, int64_t n) {
    return t.view({B, T, n, head_dim}).transpose(1, 2);  // [B, n, T, D]
  };
  auto qh = ApplyRotary(split(q(h), heads), rotary);
  auto kh = ApplyRotary(split(k(h), kv_heads), rotary);
  auto vh = split(v(h), kv_heads);
  // Query head j reads key/value head j / (heads / kv_heads), as transformers' repeat_kv.
  if (kv_heads != heads) {
    kh = kh.repeat_interleave(heads / kv_heads, 1);
    vh = vh.repeat_interleave(heads / kv_heads, 1);
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  auto att = torch::baddbmm(causal_bias.narrow(0, 0, T).narrow(1, 0, T),
                            qh.reshape({B * heads, T, head_dim}),
                            kh.reshape({B * heads, T, head_dim}).transpose(1, 2), 1.0, scale);
  att = torch::softmax(att, -1);
  auto y_heads =
      torch::bmm(att, vh.reshape({B * heads, T, head_dim})).view({B, heads, T, head_dim});
  if (stats) AddHeadStats(qh, kh, vh, y_heads, stats);
  return y_heads.transpose(1, 2).reshape({B, T, width});
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& causal_bias,
                                 const RotaryTables& rotary, LayerStats* stats) {
  auto h = ln1(x);
  auto merged =
      llama ? LlamaAttention(h, causal_bias, rotary, stats) : Gpt2Attention(h, causal_bias, stats);
  auto x1 = x + attn_proj(merged);
  auto h2 = ln2(x1);
  // gelu_new, as GPT-2 and llama.cpp compute it; SwiGLU for the Llama family.
  auto act = llama ? torch::silu(gate(h2)) * up(h2) : torch::gelu(fc(h2), "tanh");
  auto out = x1 + mlp_proj(act);
  if (stats) AddBlockStats(x, h, h2, act, out, stats);
  return out;
}

GptImpl::GptImpl(const GptConfig& config) : config_(config) {
  const Architecture& a = config.architecture;
  const int64_t d = a.d_model, C = a.context_length, V = config.vocab_size;
  tok_emb = register_parameter("tok_emb", torch::zeros({V, d}));
  if (!a.family.llama()) pos_emb = register_parameter("pos_emb", torch::zeros({C, d}));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int l = 0; l < a.num_layers; ++l) layers->push_back(Block(config, l));
  ln_f = register_module("ln_f", Norm(d, a.family));
  if (!a.tie_embeddings) {
    lm_head = register_module("lm_head", std::make_shared<torch::nn::Module>());
    lm_head_weight = lm_head->register_parameter("weight", torch::zeros({V, d}));
  }
  causal_bias_ = register_buffer(
      "causal_bias", torch::full({C, C}, -std::numeric_limits<float>::infinity()).triu(1));
  if (a.family.llama()) rotary_ = MakeRotaryTables(a.family.rope, a.head_dim(), C);
  const Compression& c = config.compression;
  tok_emb_gguf_ = GgufStored(c, &GgufWeightTypes::token_embedding, d);
  if (pos_emb.defined()) pos_emb_gguf_ = GgufStored(c, &GgufWeightTypes::position, d);
  if (lm_head_weight.defined()) lm_head_gguf_ = GgufStored(c, &GgufWeightTypes::output, d);
  InitScratch();
}

std::vector<CompressedLinearImpl*> GptImpl::Linears() {
  std::vector<CompressedLinearImpl*> out;
  for (auto& m : *layers) {
    auto* block = m->as<BlockImpl>();
    for (auto& named : block->attention_linears()) out.push_back(named.linear);
    for (auto& named : block->mlp_linears()) out.push_back(named.linear);
  }
  return out;
}

void GptImpl::InitScratch() {
  torch::NoGradGuard no_grad;
  const int L = config_.architecture.num_layers;
  const double std_proj = 0.02 / std::sqrt(2.0 * L);
  tok_emb.normal_(0, 0.02);
  if (pos_emb.defined()) pos_emb.normal_(0, 0.02);
  if (lm_head_weight.defined()) lm_head_weight.normal_(0, 0.02);
  for (auto& m : *layers) {
    auto* block = m->as<BlockImpl>();
    auto init = [&](CompressedLinearImpl* lin, double std) {
      if (lin->bias.defined()) lin->bias.zero_();
      if (lin->low_rank()) {
        auto dense = torch::empty({lin->u.size(0), lin->v.size(1)}).normal_(0, std);
        auto [u, v] = SvdFactors(dense, lin->u.size(1));
        lin->u.copy_(u);
        lin->v.copy_(v);
      } else {
        lin->weight.normal_(0, std);
      }
    };
    for (auto& named : block->attention_linears())
      init(named.linear, named.linear == block->attn_proj.get() ? std_proj : 0.02);
    for (auto& named : block->mlp_linears())
      init(named.linear, named.linear == block->mlp_proj.get() ? std_proj : 0.02);
    for (auto* norm : {block->ln1.get(), block->ln2.get()}) {
      norm->weight.fill_(1);
      if (norm->bias.defined()) norm->bias.zero_();
    }
  }
  ln_f->weight.fill_(1);
  if (ln_f->bias.defined()) ln_f->bias.zero_();
}

torch::Tensor GptImpl::EffectiveEmbedding(const torch::Tensor& e,
                                          const std::optional<GgmlType>& gguf) const {
  if (deployed_ || !config_.quantization_aware) return e;
  if (gguf) return GgufFakeQuantize(e, *gguf);
  const int bits = config_.compression.embedding_bits;
  return FakeQuantize(e, bits, EffectiveGroupSize(bits, config_.compression.group_size, e.size(1)));
}

torch::Tensor GptImpl::forward(const torch::Tensor& idx, ActivationStats* stats) {
  const HiddenAndHead out = ForwardToHead(idx, stats);
  return torch::linear(out.hidden, out.head_weight);
}

GptImpl::HiddenAndHead GptImpl::ForwardToHead(const torch::Tensor& idx, ActivationStats* stats) {
  const int64_t T = idx.size(1);
  auto tok = EffectiveEmbedding(tok_emb, tok_emb_gguf_);
  auto x = torch::embedding(tok, idx);
  if (pos_emb.defined()) x = x + EffectiveEmbedding(pos_emb, pos_emb_gguf_).narrow(0, 0, T);
  if (stats && stats->layers.empty()) {  // zeros of the blocks' shapes
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
    x = m->as<BlockImpl>()->forward(x, causal_bias_, rotary_, stats ? &stats->layers[l] : nullptr);
    ++l;
  }
  if (stats) stats->tokens += idx.numel();
  x = ln_f(x);
  if (lm_head_weight.defined()) {
    torch::Tensor w = lm_head_weight;
    if (!deployed_ && config_.quantization_aware && lm_head_gguf_) {
      w = GgufFakeQuantize(w, *lm_head_gguf_);
    } else if (!deployed_ && config_.quantization_aware && config_.compression.weight_bits < 16) {
      const int bits = config_.compression.weight_bits;
      w = FakeQuantize(w, bits,
                       EffectiveGroupSize(bits, config_.compression.group_size, w.size(1)));
    }
    return {x, w};
  }
  return {x, tok};
}

std::vector<WeightRef> GptImpl::Weights() {
  const Compression& c = config_.compression;
  std::vector<WeightRef> out;
  // With llama.cpp's types, every tensor's GGUF type stands for bits.
  const int embedding_bits = c.gguf.set() ? 16 : c.embedding_bits;
  const std::optional<GgmlType> vector_gguf =
      c.gguf.set() ? std::optional<GgmlType>(GgmlType::kF32) : std::nullopt;
  auto vec = [&](const std::string& name, torch::Tensor* p) {
    out.push_back({name, TensorRole::kVector, p, nullptr, 16, 0, vector_gguf});
  };
  out.push_back({"tok_emb", TensorRole::kEmbedding, &tok_emb, nullptr, embedding_bits, c.group_size,
                 tok_emb_gguf_});
  if (pos_emb.defined()) {
    out.push_back({"pos_emb", TensorRole::kEmbedding, &pos_emb, nullptr, embedding_bits,
                   c.group_size, pos_emb_gguf_});
  }
  auto norm = [&](const std::string& name, NormImpl* n) {
    vec(name + ".weight", &n->weight);
    if (n->bias.defined()) vec(name + ".bias", &n->bias);
  };
  int l = 0;
  for (auto& m : *layers) {
    auto* b = m->as<BlockImpl>();
    const std::string p = "layers." + std::to_string(l++) + ".";
    auto add = [&](const std::vector<BlockImpl::NamedLinear>& linears) {
      for (const auto& [name, lin] : linears) {
        for (auto& mat : lin->matrices()) {
          out.push_back({p + name + mat.suffix, TensorRole::kLinear, mat.param, mat.mask, lin->bits,
                         c.group_size, lin->gguf_type});
        }
        if (lin->bias.defined()) vec(p + name + ".bias", &lin->bias);
      }
    };
    norm(p + "ln1", b->ln1.get());
    add(b->attention_linears());
    norm(p + "ln2", b->ln2.get());
    add(b->mlp_linears());
  }
  norm("ln_f", ln_f.get());
  if (lm_head_weight.defined()) {
    out.push_back({"lm_head", TensorRole::kHead, &lm_head_weight, nullptr,
                   lm_head_gguf_ ? 16 : c.weight_bits, c.group_size, lm_head_gguf_});
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
    if (w.gguf_type) {
      w.param->copy_(GgufRoundTrip(value, *w.gguf_type));
      continue;
    }
    const int64_t cols = value.dim() == 2 ? value.size(1) : value.size(0);
    w.param->copy_(DeployedValue(value, w.bits, EffectiveGroupSize(w.bits, w.group_size, cols)));
  }
  for (auto* lin : Linears()) lin->deployed = true;
  deployed_ = true;
}

}  // namespace kdnas
