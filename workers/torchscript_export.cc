#include "workers/torchscript_export.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "proto/candidate_json.h"

namespace kdnas {

std::string ScriptName(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (c == '.') c = '_';
  return out;
}

namespace {

const char kAttention[] = R"(
def _attention(self, qkv: Tensor, bias: Tensor, heads: int, head_dim: int, scale: float) -> Tensor:
    B = qkv.size(0)
    T = qkv.size(1)
    parts = qkv.view(B, T, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
    q = parts[0].reshape(B * heads, T, head_dim)
    k = parts[1].reshape(B * heads, T, head_dim)
    v = parts[2].reshape(B * heads, T, head_dim)
    att = torch.baddbmm(bias, q, k.transpose(1, 2), beta=1.0, alpha=scale)
    att = torch.softmax(att, -1)
    y = torch.bmm(att, v).view(B, heads, T, head_dim).transpose(1, 2)
    return y.reshape(B, T, heads * head_dim)
)";

// The Llama family's attention: rotary positions (rotate-half) and
// grouped-query attention, as workers/gpt.cc computes them.
const char kLlamaAttention[] = R"(
def _rotary_attention(self, q: Tensor, k: Tensor, v: Tensor, bias: Tensor, cos: Tensor, sin: Tensor, heads: int, kv_heads: int, head_dim: int, scale: float) -> Tensor:
    B = q.size(0)
    T = q.size(1)
    half = head_dim // 2
    q = q.view(B, T, heads, head_dim).transpose(1, 2)
    k = k.view(B, T, kv_heads, head_dim).transpose(1, 2)
    v = v.view(B, T, kv_heads, head_dim).transpose(1, 2)
    q = q * cos + torch.cat([-q[:, :, :, half:], q[:, :, :, :half]], -1) * sin
    k = k * cos + torch.cat([-k[:, :, :, half:], k[:, :, :, :half]], -1) * sin
    if kv_heads != heads:
        k = torch.repeat_interleave(k, heads // kv_heads, 1)
        v = torch.repeat_interleave(v, heads // kv_heads, 1)
    att = torch.baddbmm(bias, q.reshape(B * heads, T, head_dim), k.reshape(B * heads, T, head_dim).transpose(1, 2), beta=1.0, alpha=scale)
    att = torch.softmax(att, -1)
    y = torch.bmm(att, v.reshape(B * heads, T, head_dim)).view(B, heads, T, head_dim).transpose(1, 2)
    return y.reshape(B, T, heads * head_dim)
)";

const char kRmsNorm[] = R"(
def _rms_norm(self, x: Tensor, weight: Tensor, eps: float) -> Tensor:
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
)";

std::string Number(double v) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.17g", v);
  return text;
}

std::string Self(const std::string& name) { return "self." + ScriptName(name); }

// "torch.linear(x, self.W, self.b)" or the two-factor form.
std::string Linear(const std::string& x, const std::string& module,
                   const CompressedLinearImpl& lin) {
  const std::string bias = lin.bias.defined() ? Self(module + ".bias") : "None";
  if (lin.low_rank()) {
    return "torch.linear(torch.linear(" + x + ", " + Self(module + ".v") + "), " +
           Self(module + ".u") + ", " + bias + ")";
  }
  return "torch.linear(" + x + ", " + Self(module + ".weight") + ", " + bias + ")";
}

std::string Norm(const std::string& x, const std::string& module, int64_t d,
                 const BlockFamily& family) {
  if (family.llama()) {
    return "self._rms_norm(" + x + ", " + Self(module + ".weight") + ", " +
           Number(family.norm_eps) + ")";
  }
  return "torch.layer_norm(" + x + ", [" + std::to_string(d) + "], " + Self(module + ".weight") +
         ", " + Self(module + ".bias") + ", " + Number(family.norm_eps) + ")";
}

std::string ForwardSource(GptImpl& model) {
  const Architecture& a = model.config().architecture;
  const BlockFamily& family = a.family;
  const int64_t d = a.d_model;
  std::ostringstream s;
  s << "def forward(self, idx: Tensor) -> Tensor:\n"
    << "    T = idx.size(1)\n";
  if (family.llama()) {
    s << "    x = torch.embedding(self.tok_emb, idx)\n"
      << "    cos = self.rope_cos[:T]\n"
      << "    sin = self.rope_sin[:T]\n";
  } else {
    s << "    x = torch.embedding(self.tok_emb, idx) + self.pos_emb[:T]\n";
  }
  s << "    bias = self.causal_bias[:T, :T]\n";
  int l = 0;
  for (auto& m : *model.layers) {
    auto* b = m->as<BlockImpl>();
    const std::string p = "layers." + std::to_string(l++) + ".";
    const std::string scale = Number(1.0 / std::sqrt(static_cast<double>(b->head_dim)));
    s << "    h = " << Norm("x", p + "ln1", d, family) << "\n";
    if (family.llama()) {
      s << "    y = self._rotary_attention(" << Linear("h", p + "attn.q", *b->q) << ", "
        << Linear("h", p + "attn.k", *b->k) << ", " << Linear("h", p + "attn.v", *b->v)
        << ", bias, cos, sin, " << b->heads << ", " << b->kv_heads << ", " << b->head_dim << ", "
        << scale << ")\n";
    } else {
      s << "    qkv = " << Linear("h", p + "attn.qkv", *b->qkv) << "\n"
        << "    y = self._attention(qkv, bias, " << b->heads << ", " << b->head_dim << ", " << scale
        << ")\n";
    }
    s << "    x = x + " << Linear("y", p + "attn.proj", *b->attn_proj) << "\n"
      << "    h = " << Norm("x", p + "ln2", d, family) << "\n";
    if (family.llama()) {
      s << "    h = torch.silu(" << Linear("h", p + "mlp.gate", *b->gate) << ") * "
        << Linear("h", p + "mlp.up", *b->up) << "\n";
    } else {
      s << "    h = torch.gelu(" << Linear("h", p + "mlp.fc", *b->fc) << ", approximate='tanh')\n";
    }
    s << "    x = x + " << Linear("h", p + "mlp.proj", *b->mlp_proj) << "\n";
  }
  s << "    x = " << Norm("x", "ln_f", d, family) << "\n";
  if (model.lm_head_weight.defined()) {
    s << "    return torch.linear(x, self.lm_head_weight)\n";
  } else {
    s << "    return torch.linear(x, self.tok_emb)\n";
  }
  return s.str();
}

}  // namespace

StatusOr<torch::jit::Module> BuildScriptModule(GptImpl& model) {
  try {
    torch::NoGradGuard no_grad;
    torch::jit::Module module("kdnas.GPT");
    // Masks are folded into the weights.
    std::map<const void*, torch::Tensor> masks;
    for (auto& w : model.Weights()) {
      if (w.mask && w.mask->defined() && !model.deployed())
        masks[w.param->unsafeGetTensorImpl()] = *w.mask;
    }
    for (const auto& p : model.named_parameters()) {
      torch::Tensor value = p.value().detach().clone();
      auto it = masks.find(p.value().unsafeGetTensorImpl());
      if (it != masks.end()) value.mul_(it->second);
      module.register_parameter(ScriptName(p.key()), value, /*is_buffer=*/false);
    }
    const int64_t C = model.config().architecture.context_length;
    module.register_buffer("causal_bias",
                           torch::full({C, C}, -std::numeric_limits<float>::infinity()).triu(1));
    if (model.config().architecture.family.llama()) {
      module.register_buffer("rope_cos", model.rotary().cos.clone());
      module.register_buffer("rope_sin", model.rotary().sin.clone());
      module.define(kLlamaAttention);
      module.define(kRmsNorm);
    } else {
      module.define(kAttention);
    }
    module.define(ForwardSource(model));
    module.eval();
    return module;
  } catch (const c10::Error& e) {
    return Internal(std::string("building the TorchScript module: ") + e.what_without_backtrace());
  }
}

Status SaveTorchScript(GptImpl& model, const JobTokenizer& tokenizer, const std::string& path) {
  KDNAS_ASSIGN_OR_RETURN(torch::jit::Module module, BuildScriptModule(model));
  torch::jit::ExtraFilesMap extra;
  extra[kTokenizerExtraFile] = tokenizer.serialized();
  extra[kArchitectureExtraFile] = ArchitectureToJson(model.config().architecture);
  const std::string tmp = path + ".tmp";
  try {
    module.save(tmp, extra);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    return Internal("writing '" + path + "': " + e.what_without_backtrace());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Internal("writing '" + path + "': rename failed");
  }
  return Status::Ok();
}

}  // namespace kdnas
