#include "search/cost_model.h"

#include "search/artifact_layout.h"

namespace kdnas {

CostEstimate EstimateCost(const Candidate& c, const ModelContext& context) {
  ArtifactLayout layout =
      LayoutArtifact(c, context.vocab_size, context.tokenizer_bytes, /*with_names=*/false);
  CostEstimate e;
  int64_t linear_weights = 0;
  for (const TensorLayout& t : layout.tensors) {
    e.params += t.numel();
    e.nonzero_params += t.kept;
    if (t.role == TensorRole::kLinear) linear_weights += t.numel();
  }
  const Architecture& a = c.architecture;
  int64_t attention = 0;
  for (int l = 0; l < a.num_layers; ++l) {
    attention += 4LL * a.context_length * a.layer_heads(l) * a.head_dim();
  }
  e.flops_per_token = 2 * linear_weights + 2 * context.vocab_size * a.d_model + attention;
  e.train_flops_per_token = 3 * e.flops_per_token;
  e.size_bytes = layout.total_bytes;
  if (c.compression.gguf.set())
    e.size_bytes = context.gguf_file_bytes ? context.gguf_file_bytes(c) : -1;
  return e;
}

double ConstraintViolation(const CostEstimate& cost, const Constraints& limits) {
  // An unknown size admits no constraint, and weighs more than any known one.
  if (cost.size_bytes < 0) return 1e12;
  double violation = 0;
  auto add = [&](double value, double limit) {
    if (limit > 0 && value > limit) violation += value / limit - 1.0;
  };
  add(static_cast<double>(cost.size_bytes), static_cast<double>(limits.max_size_bytes));
  add(static_cast<double>(cost.params), static_cast<double>(limits.max_params));
  add(static_cast<double>(cost.flops_per_token), static_cast<double>(limits.max_flops_per_token));
  return violation;
}

Status CheckConstraints(const CostEstimate& cost, const Constraints& limits) {
  if (cost.size_bytes < 0) {
    return FailedPrecondition(
        "size_bytes: unknown: the candidate's GGUF file cannot be laid out for this job");
  }
  if (limits.max_size_bytes > 0 && cost.size_bytes > limits.max_size_bytes) {
    return FailedPrecondition("constraints.max_size_bytes: " + std::to_string(cost.size_bytes) +
                              " bytes > " + std::to_string(limits.max_size_bytes));
  }
  if (limits.max_params > 0 && cost.params > limits.max_params) {
    return FailedPrecondition("constraints.max_params: " + std::to_string(cost.params) + " > " +
                              std::to_string(limits.max_params));
  }
  if (limits.max_flops_per_token > 0 && cost.flops_per_token > limits.max_flops_per_token) {
    return FailedPrecondition(
        "constraints.max_flops_per_token: " + std::to_string(cost.flops_per_token) + " > " +
        std::to_string(limits.max_flops_per_token));
  }
  return Status::Ok();
}

}  // namespace kdnas
