#include "workers/hf_as_gpt.h"

#include "formats/hf_kdnas_architecture.h"

namespace kdnas {

StatusOr<Gpt> HfModelAsGpt(const HfModel& model) {
  KDNAS_ASSIGN_OR_RETURN(Architecture architecture, KdnasArchitectureOf(model.config()));
  Gpt gpt(
      GptConfig{architecture, Compression{}, static_cast<int>(model.config().vocab_size), false});
  torch::NoGradGuard no_grad;
  // Conv1D weights are [in, out]; the Gpt's linears hold [out, in].
  auto linear = [&](CompressedLinearImpl& dst, HfPart weight, HfPart bias, int64_t layer) {
    dst.weight.copy_(model.Weight(weight, layer).t());
    dst.bias.copy_(model.Weight(bias, layer));
  };
  auto norm = [&](NormImpl& dst, HfPart weight, HfPart bias, int64_t layer) {
    dst.weight.copy_(model.Weight(weight, layer));
    dst.bias.copy_(model.Weight(bias, layer));
  };
  gpt->tok_emb.copy_(model.Weight(HfPart::kTokenEmbedding));
  gpt->pos_emb.copy_(model.Weight(HfPart::kPositionEmbedding));
  for (int64_t l = 0; l < architecture.num_layers; ++l) {
    auto& block = *gpt->layers[l]->as<BlockImpl>();
    norm(*block.ln1, HfPart::kAttentionNorm, HfPart::kAttentionNormBias, l);
    linear(*block.qkv, HfPart::kQkv, HfPart::kQkvBias, l);
    linear(*block.attn_proj, HfPart::kAttentionOutput, HfPart::kAttentionOutputBias, l);
    norm(*block.ln2, HfPart::kMlpNorm, HfPart::kMlpNormBias, l);
    linear(*block.fc, HfPart::kUp, HfPart::kUpBias, l);
    linear(*block.mlp_proj, HfPart::kDown, HfPart::kDownBias, l);
  }
  norm(*gpt->ln_f, HfPart::kFinalNorm, HfPart::kFinalNormBias, -1);
  if (!architecture.tie_embeddings) gpt->lm_head_weight.copy_(model.Weight(HfPart::kOutput));
  gpt->eval();
  return gpt;
}

}  // namespace kdnas
