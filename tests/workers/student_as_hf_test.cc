// A student of each family computes what transformers' modeling code of its
// family computes: loaded as an HfModel (itself checked against a PyTorch
// reference of the architectures in hf_model_test) from its own tensors,
// it gives the same logits.
#include "workers/student_as_hf.h"

#include <gtest/gtest.h>

#include "workers/hf_model.h"

namespace kdnas {
namespace {

constexpr int kVocab = 37;

Candidate SmallStudent(FamilyKind kind) {
  Candidate c;
  Architecture& a = c.architecture;
  a.num_layers = 2;
  a.d_model = 32;
  a.num_heads = 4;
  a.d_ff = 48;
  a.context_length = 16;
  a.family.kind = kind;
  if (kind != FamilyKind::kGpt2) {
    a.num_kv_heads = 2;
    a.family.norm_eps = 1e-6;
    a.family.rope = {Rope::Scaling::kLlama3, 500000.0, 8.0, 1.0, 4.0, 8};
  }
  return c;
}

StatusOr<HfModel> AsHfModel(GptImpl& student) {
  KDNAS_ASSIGN_OR_RETURN(HfModelConfig config, HfConfigOf(student.config().architecture, kVocab));
  return HfModel::Create(config, "", [&](const HfTensorSpec& spec) -> StatusOr<torch::Tensor> {
    return StudentTensor(student, spec.part, spec.layer);
  });
}

void ExpectSameLogits(const Candidate& c) {
  torch::manual_seed(5);
  Gpt student(GptConfig{c.architecture, c.compression, kVocab, /*quantization_aware=*/false});
  {
    torch::NoGradGuard no_grad;
    for (auto& p : student->parameters()) p.normal_(0, 0.3);
  }
  student->eval();
  auto hf = AsHfModel(*student);
  ASSERT_TRUE(hf.ok()) << hf.status().ToString();
  auto ids = torch::randint(0, kVocab, {2, c.architecture.context_length}, torch::kInt64);
  torch::NoGradGuard no_grad;
  auto want = student->forward(ids);
  auto got = hf->Logits(ids);
  EXPECT_LT((got - want).abs().max().item<float>(), 1e-4);
}

TEST(StudentAsHf, EachFamilyComputesWhatTransformersComputes) {
  for (FamilyKind kind : {FamilyKind::kGpt2, FamilyKind::kLlama, FamilyKind::kQwen2}) {
    SCOPED_TRACE(FamilyKindName(kind));
    Candidate c = SmallStudent(kind);
    ExpectSameLogits(c);
    c.architecture.tie_embeddings = true;
    c.compression.low_rank_ratio = 0.25;  // stored dense in the checkpoint
    ExpectSameLogits(c);
  }
}

TEST(StudentAsHf, OnlyUniformLayersHaveAConfig) {
  Candidate c = SmallStudent(FamilyKind::kLlama);
  c.architecture.layers = {{4, 48, 2}, {4, 48, 1}};
  auto config = HfConfigOf(c.architecture, kVocab);
  EXPECT_EQ(config.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(config.status().message().find("layer 1"), std::string::npos);
  c = SmallStudent(FamilyKind::kGpt2);
  c.architecture.fixed_head_dim = 16;  // 4 heads of 16 in a 32-wide model
  EXPECT_EQ(HfConfigOf(c.architecture, kVocab).status().code(), StatusCode::kFailedPrecondition);
  c = SmallStudent(FamilyKind::kLlama);
  c.architecture.fixed_head_dim = 16;  // Llama configs have head_dim
  EXPECT_TRUE(HfConfigOf(c.architecture, kVocab).ok());
}

}  // namespace
}  // namespace kdnas
