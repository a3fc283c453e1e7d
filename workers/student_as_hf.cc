#include "workers/student_as_hf.h"

namespace kdnas {

namespace {

// Where a part lives in a student: a linear's matrix or bias, or a plain
// tensor (embeddings, norms, the untied head). All null when the family has
// no such part.
struct StudentSlot {
  CompressedLinearImpl* linear = nullptr;
  bool bias = false;  // the linear's bias rather than its matrix
  torch::Tensor* tensor = nullptr;
};

StudentSlot SlotOf(GptImpl& student, HfPart part, int64_t layer) {
  auto defined = [](torch::Tensor& t) { return t.defined() ? &t : nullptr; };
  if (layer < 0) {
    switch (part) {
      case HfPart::kTokenEmbedding:
        return {nullptr, false, &student.tok_emb};
      case HfPart::kPositionEmbedding:
        return {nullptr, false, defined(student.pos_emb)};
      case HfPart::kFinalNorm:
        return {nullptr, false, &student.ln_f->weight};
      case HfPart::kFinalNormBias:
        return {nullptr, false, defined(student.ln_f->bias)};
      case HfPart::kOutput:
        return {nullptr, false,
                student.lm_head_weight.defined() ? &student.lm_head_weight : &student.tok_emb};
      default:
        return {};
    }
  }
  auto& b = *student.layers[layer]->as<BlockImpl>();
  const bool gpt2 = !b.llama;
  auto matrix = [](CompressedLinear& lin) { return StudentSlot{lin.get(), false, nullptr}; };
  auto bias = [](CompressedLinear& lin) {
    return lin && lin->bias.defined() ? StudentSlot{lin.get(), true, nullptr} : StudentSlot{};
  };
  switch (part) {
    case HfPart::kAttentionNorm:
      return {nullptr, false, &b.ln1->weight};
    case HfPart::kAttentionNormBias:
      return {nullptr, false, defined(b.ln1->bias)};
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
      return {nullptr, false, &b.ln2->weight};
    case HfPart::kMlpNormBias:
      return {nullptr, false, defined(b.ln2->bias)};
    case HfPart::kGate:
      return matrix(b.gate);
    case HfPart::kUp:
      return gpt2 ? matrix(b.fc) : matrix(b.up);
    case HfPart::kUpBias:
      return gpt2 ? bias(b.fc) : StudentSlot{};
    case HfPart::kDown:
      return matrix(b.mlp_proj);
    case HfPart::kDownBias:
      return bias(b.mlp_proj);
    default:
      return {};
  }
}

}  // namespace

torch::Tensor StudentTensor(GptImpl& student, HfPart part, int64_t layer) {
  torch::NoGradGuard no_grad;
  const StudentSlot slot = SlotOf(student, part, layer);
  if (slot.tensor) return slot.tensor->detach().clone();
  if (!slot.linear) return {};
  if (slot.bias) return slot.linear->bias.detach().clone();
  auto w = slot.linear->DenseWeight();
  // GPT-2's Conv1D stores [in, out].
  return student.config().architecture.family.llama() ? w : w.t().contiguous();
}

Status SetStudentTensor(GptImpl& student, HfPart part, int64_t layer, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  const StudentSlot slot = SlotOf(student, part, layer);
  torch::Tensor* target = slot.tensor;
  torch::Tensor v = value;
  if (slot.linear) {
    if (!slot.bias && slot.linear->low_rank()) {
      return FailedPrecondition("a low-rank student holds factors, not a matrix to set");
    }
    target = slot.bias ? &slot.linear->bias : &slot.linear->weight;
    if (!slot.bias && !student.config().architecture.family.llama()) v = value.t();
  }
  if (!target) return InvalidArgument("the student has no such part");
  if (target->sizes() != v.sizes()) {
    return InvalidArgument("shape " + ShapeText(v.sizes().vec()) + ", the student's " +
                           ShapeText(target->sizes().vec()));
  }
  target->copy_(v);
  return Status::Ok();
}

}  // namespace kdnas
