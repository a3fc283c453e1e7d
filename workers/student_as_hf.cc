#include "workers/student_as_hf.h"

namespace kdnas {

StatusOr<HfModelConfig> HfConfigOfStudent(const Architecture& a, int64_t vocab_size) {
  for (int l = 1; l < a.num_layers; ++l) {
    if (a.layer_heads(l) != a.layer_heads(0) || a.layer_kv_heads(l) != a.layer_kv_heads(0) ||
        a.layer_d_ff(l) != a.layer_d_ff(0)) {
      return FailedPrecondition("layer " + std::to_string(l) +
                                " differs from layer 0 in heads or MLP width: a config.json "
                                "describes uniform layers only");
    }
  }
  const BlockFamily& f = a.family;
  HfModelConfig c;
  switch (f.kind) {
    case FamilyKind::kGpt2:
      c.family = HfFamily::kGpt2;
      c.architecture = "GPT2LMHeadModel";
      break;
    case FamilyKind::kLlama:
      c.family = HfFamily::kLlama;
      c.architecture = "LlamaForCausalLM";
      break;
    case FamilyKind::kQwen2:
      c.family = HfFamily::kQwen2;
      c.architecture = "Qwen2ForCausalLM";
      break;
  }
  c.vocab_size = vocab_size;
  c.hidden_size = a.d_model;
  c.num_layers = a.num_layers;
  c.num_heads = a.layer_heads(0);
  c.num_kv_heads = a.layer_kv_heads(0);
  c.head_dim = a.head_dim();
  c.intermediate_size = a.layer_d_ff(0);
  c.max_position_embeddings = a.context_length;
  c.norm_eps = f.norm_eps;
  c.tie_word_embeddings = a.tie_embeddings;
  c.qkv_bias = f.qkv_bias();
  c.rope = f.rope;
  if (!f.llama() && c.num_heads * c.head_dim != c.hidden_size) {
    return FailedPrecondition("GPT-2 heads are n_embd / n_head wide; these are " +
                              std::to_string(c.head_dim) + " x " + std::to_string(c.num_heads) +
                              " for n_embd " + std::to_string(c.hidden_size));
  }
  return c;
}

torch::Tensor StudentTensor(GptImpl& student, HfPart part, int64_t layer) {
  torch::NoGradGuard no_grad;
  const bool gpt2 = !student.config().architecture.family.llama();
  if (layer < 0) {
    switch (part) {
      case HfPart::kTokenEmbedding:
        return student.tok_emb.detach().clone();
      case HfPart::kPositionEmbedding:
        return student.pos_emb.defined() ? student.pos_emb.detach().clone() : torch::Tensor();
      case HfPart::kFinalNorm:
        return student.ln_f->weight.detach().clone();
      case HfPart::kFinalNormBias:
        return student.ln_f->bias.defined() ? student.ln_f->bias.detach().clone() : torch::Tensor();
      case HfPart::kOutput:
        return (student.lm_head_weight.defined() ? student.lm_head_weight : student.tok_emb)
            .detach()
            .clone();
      default:
        return {};
    }
  }
  auto& b = *student.layers[layer]->as<BlockImpl>();
  // GPT-2's Conv1D stores [in, out].
  auto matrix = [&](CompressedLinear& lin) {
    if (!lin) return torch::Tensor();
    auto w = lin->DenseWeight();
    return gpt2 ? w.t().contiguous() : w;
  };
  auto bias = [&](CompressedLinear& lin) {
    return lin && lin->bias.defined() ? lin->bias.detach().clone() : torch::Tensor();
  };
  auto norm_bias = [](Norm& n) {
    return n->bias.defined() ? n->bias.detach().clone() : torch::Tensor();
  };
  switch (part) {
    case HfPart::kAttentionNorm:
      return b.ln1->weight.detach().clone();
    case HfPart::kAttentionNormBias:
      return norm_bias(b.ln1);
    case HfPart::kQuery:
      return matrix(b.q);
    case HfPart::kQueryBias:
      return bias(b.q);
    case HfPart::kKey:
      return matrix(b.k);
    case HfPart::kKeyBias:
      return bias(b.k);
    case HfPart::kValue:
      return matrix(b.v);
    case HfPart::kValueBias:
      return bias(b.v);
    case HfPart::kQkv:
      return matrix(b.qkv);
    case HfPart::kQkvBias:
      return bias(b.qkv);
    case HfPart::kAttentionOutput:
      return matrix(b.attn_proj);
    case HfPart::kAttentionOutputBias:
      return bias(b.attn_proj);
    case HfPart::kMlpNorm:
      return b.ln2->weight.detach().clone();
    case HfPart::kMlpNormBias:
      return norm_bias(b.ln2);
    case HfPart::kGate:
      return matrix(b.gate);
    case HfPart::kUp:
      return gpt2 ? matrix(b.fc) : matrix(b.up);
    case HfPart::kUpBias:
      return gpt2 ? bias(b.fc) : torch::Tensor();
    case HfPart::kDown:
      return matrix(b.mlp_proj);
    case HfPart::kDownBias:
      return bias(b.mlp_proj);
    default:
      return {};
  }
}

}  // namespace kdnas
