#include "search/cost_model.h"

#include <gtest/gtest.h>

#include "search/artifact_layout.h"

namespace kdnas {
namespace {

TensorLayout FindTensor(const ArtifactLayout& layout, const std::string& name) {
  for (const auto& t : layout.tensors) {
    if (t.name == name) return t;
  }
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

Candidate OneLayer(int d, int ff) {
  Candidate c;
  c.architecture.num_layers = 1;
  c.architecture.d_model = d;
  c.architecture.num_heads = 1;
  c.architecture.d_ff = ff;
  c.architecture.context_length = 8;
  return c;
}

TEST(ArtifactLayout, FourBitGroup128CostsFourPointOneTwoFiveBitsPerWeight) {
  Candidate c = OneLayer(1024, 1024);
  c.compression.weight_bits = 4;
  c.compression.group_size = 128;
  TensorLayout t = FindTensor(LayoutArtifact(c, 65, 100), "layers.0.mlp.fc");
  EXPECT_DOUBLE_EQ(8.0 * static_cast<double>(t.payload_bytes()) / static_cast<double>(t.numel()),
                   4.125);
}

TEST(ArtifactLayout, TwoOfFourAtFp16CostsFiftySixPercentOfDense) {
  Candidate c = OneLayer(256, 1024);
  TensorLayout dense = FindTensor(LayoutArtifact(c, 65, 100), "layers.0.mlp.fc");
  c.compression.sparsity_pattern = SparsityPattern::k2of4;
  TensorLayout nm = FindTensor(LayoutArtifact(c, 65, 100), "layers.0.mlp.fc");
  EXPECT_EQ(nm.sparse, SparseEncoding::kNofM);
  EXPECT_DOUBLE_EQ(
      static_cast<double>(nm.payload_bytes()) / static_cast<double>(dense.payload_bytes()), 0.5625);
}

TEST(ArtifactLayout, BitmapOnlyWhereItIsSmaller) {
  Candidate c = OneLayer(256, 1024);
  // fp16: 1 + 16 d < 16 <=> d < 15/16.
  c.compression.sparsity = 0.05;
  EXPECT_EQ(FindTensor(LayoutArtifact(c, 65, 100), "layers.0.mlp.fc").sparse,
            SparseEncoding::kDense);
  c.compression.sparsity = 0.07;
  EXPECT_EQ(FindTensor(LayoutArtifact(c, 65, 100), "layers.0.mlp.fc").sparse,
            SparseEncoding::kBitmap);
  // 4 bits: 1 + 4 d < 4 <=> d < 3/4.
  c.compression.weight_bits = 4;
  c.compression.sparsity = 0.2;
  EXPECT_EQ(FindTensor(LayoutArtifact(c, 65, 100), "layers.0.mlp.fc").sparse,
            SparseEncoding::kDense);
  c.compression.sparsity = 0.3;
  TensorLayout t = FindTensor(LayoutArtifact(c, 65, 100), "layers.0.mlp.fc");
  EXPECT_EQ(t.sparse, SparseEncoding::kBitmap);
  EXPECT_EQ(t.kept, 262144 - 78643);  // round(0.3 * 262144) = 78643.2 -> 78643
}

TEST(ArtifactLayout, LowRankFactorsOnlyWhenSmaller) {
  EXPECT_EQ(LowRankRank(512, 128, 0.25), 32);  // 32 * 640 < 65536
  EXPECT_EQ(LowRankRank(512, 128, 0.9), 0);    // 120 -> 120 * 640 > 65536
  EXPECT_EQ(LowRankRank(512, 128, 0.1), 16);   // 12.8 -> 13 -> rounded up to 16
  EXPECT_EQ(LowRankRank(512, 128, 0.0), 0);
  Candidate c = OneLayer(128, 512);
  c.compression.low_rank_ratio = 0.25;
  auto layout = LayoutArtifact(c, 65, 100);
  TensorLayout u = FindTensor(layout, "layers.0.mlp.fc.u");
  TensorLayout v = FindTensor(layout, "layers.0.mlp.fc.v");
  EXPECT_EQ(u.rows, 512);
  EXPECT_EQ(u.cols, 32);
  EXPECT_EQ(v.rows, 32);
  EXPECT_EQ(v.cols, 128);
}

// Bytes of a quantized tensor [r, c] at b bits with group g: 20 + r*ceil(c/g)*2 + ceil(r*c*b/8).
int64_t q(int64_t r, int64_t cols, int b, int g) {
  return 20 + r * ((cols + g - 1) / g) * 2 + (r * cols * b + 7) / 8;
}
// Bytes of an fp16 vector of n.
int64_t vec(int64_t n) { return 20 + 2 * n; }

TEST(CostModel, HandComputedSizeOfATinyStudent) {
  Candidate c = OneLayer(8, 16);
  c.architecture.context_length = 8;
  c.compression.weight_bits = 4;
  c.compression.group_size = 32;
  c.compression.embedding_bits = 8;
  const int64_t vocab = 10, tokenizer = 25;
  int64_t expected = 128 + 12 + tokenizer;             // header, layer table, tokenizer
  expected += q(vocab, 8, 8, 32) + q(8, 8, 8, 32);     // embeddings
  expected += 2 * vec(8) + q(24, 8, 4, 32) + vec(24);  // ln1, qkv
  expected += q(8, 8, 4, 32) + vec(8) + 2 * vec(8);    // proj, ln2
  expected += q(16, 8, 4, 32) + vec(16) + q(8, 16, 4, 32) + vec(8);  // mlp
  expected += 2 * vec(8) + q(vocab, 8, 4, 32);                       // ln_f, lm_head
  CostEstimate cost = EstimateCost(c, {vocab, tokenizer});
  EXPECT_EQ(cost.size_bytes, expected);
  EXPECT_EQ(cost.params,
            10 * 8 + 8 * 8 + 16 + 24 * 8 + 24 + 64 + 8 + 16 + 128 + 16 + 128 + 8 + 16 + 80);
  EXPECT_EQ(cost.nonzero_params, cost.params);
  // 2 * (192 + 64 + 128 + 128) linear + 2 * 10 * 8 head + 4 * 8 * 8 attention.
  EXPECT_EQ(cost.flops_per_token, 2 * 512 + 160 + 256);
  EXPECT_EQ(cost.train_flops_per_token, 3 * cost.flops_per_token);
}

TEST(CostModel, HandComputedSizeOfATinyLlamaStudentWithGroupedQueryAttention) {
  Candidate c = OneLayer(8, 16);
  c.architecture.family.kind = FamilyKind::kLlama;
  c.architecture.num_heads = 4;
  c.architecture.num_kv_heads = 2;  // head_dim 2: k and v are [4, 8]
  c.compression.weight_bits = 4;
  c.compression.group_size = 32;
  c.compression.embedding_bits = 8;
  const int64_t vocab = 10, tokenizer = 25;
  int64_t expected = 128 + 12 + tokenizer;
  expected += q(vocab, 8, 8, 32);  // tok_emb; no positions
  expected += vec(8) + q(8, 8, 4, 32) + 2 * q(4, 8, 4, 32) + q(8, 8, 4, 32);  // ln1, q, k, v, o
  expected += vec(8) + 2 * q(16, 8, 4, 32) + q(8, 16, 4, 32);                 // ln2, gate, up, down
  expected += vec(8) + q(vocab, 8, 4, 32);                                    // ln_f, lm_head
  CostEstimate cost = EstimateCost(c, {vocab, tokenizer});
  EXPECT_EQ(cost.size_bytes, expected);
  EXPECT_EQ(cost.params, 80 + 8 + 64 + 32 + 32 + 64 + 8 + 128 + 128 + 128 + 8 + 80);
  // Qwen2 adds the q, k and v biases.
  c.architecture.family.kind = FamilyKind::kQwen2;
  EXPECT_EQ(EstimateCost(c, {vocab, tokenizer}).size_bytes, expected + vec(8) + 2 * vec(4));
  // Attention FLOPs count the query heads: 2 * 2 * C * heads * head_dim.
  const int64_t linear = 64 + 32 + 32 + 64 + 128 + 128 + 128;
  EXPECT_EQ(cost.flops_per_token, 2 * linear + 2 * vocab * 8 + 4 * 8 * 8);
}

TEST(CostModel, ParamsOfTheDemoTeacher) {
  Candidate c;  // 4 layers, d_model 128, 4 heads, d_ff 512, context 64
  CostEstimate cost = EstimateCost(c, {65, 200});
  int64_t per_layer = 4 * 128 + (3 * 128 * 128 + 3 * 128) + (128 * 128 + 128) + (512 * 128 + 512) +
                      (128 * 512 + 128);
  EXPECT_EQ(cost.params, 65 * 128 + 64 * 128 + 4 * per_layer + 2 * 128 + 65 * 128);
}

TEST(CostModel, TiedEmbeddingsDropTheHeadButNotItsFlops) {
  Candidate c;
  CostEstimate untied = EstimateCost(c, {65, 200});
  c.architecture.tie_embeddings = true;
  CostEstimate tied = EstimateCost(c, {65, 200});
  EXPECT_EQ(untied.params - tied.params, 65 * 128);
  EXPECT_EQ(untied.flops_per_token, tied.flops_per_token);
}

TEST(CostModel, PruningCountsNonZeros) {
  Candidate c;
  c.compression.sparsity_pattern = SparsityPattern::k2of4;
  CostEstimate cost = EstimateCost(c, {65, 200});
  int64_t linear = 4 * (3 * 128 * 128 + 128 * 128 + 2 * 512 * 128);
  EXPECT_EQ(cost.params - cost.nonzero_params, linear / 2);
}

TEST(Constraints, NameTheViolatedLimit) {
  CostEstimate cost;
  cost.size_bytes = 500;
  cost.params = 100;
  Constraints limits;
  EXPECT_TRUE(CheckConstraints(cost, limits).ok());
  limits.max_size_bytes = 400;
  Status s = CheckConstraints(cost, limits);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "constraints.max_size_bytes: 500 bytes > 400");
  EXPECT_DOUBLE_EQ(ConstraintViolation(cost, limits), 0.25);
  limits.max_params = 50;
  EXPECT_DOUBLE_EQ(ConstraintViolation(cost, limits), 1.25);
}

// A student in llama.cpp's types is sized by its GGUF file, which only the
// context's gguf_file_bytes can lay out; without it the size is unknown, and
// no constraint admits the candidate.
TEST(CostModel, LlamaCppTypesAreSizedByTheGgufFile) {
  Candidate c;
  c.compression.gguf.weight = GgmlType::kQ4_K;
  ModelContext context{65, 200};
  EXPECT_EQ(EstimateCost(c, context).size_bytes, -1);
  EXPECT_EQ(CheckConstraints(EstimateCost(c, context), {}).code(), StatusCode::kFailedPrecondition);
  EXPECT_GT(ConstraintViolation(EstimateCost(c, context), {}), 0);
  context.gguf_file_bytes = [](const Candidate& candidate) {
    return candidate.compression.gguf.weight == GgmlType::kQ4_K ? int64_t{123456} : int64_t{-1};
  };
  const CostEstimate cost = EstimateCost(c, context);
  EXPECT_EQ(cost.size_bytes, 123456);
  EXPECT_EQ(cost.params, EstimateCost(Candidate(), context).params);
  EXPECT_TRUE(CheckConstraints(cost, {}).ok());
  EXPECT_EQ(EstimateCost(Candidate(), context).size_bytes,
            EstimateCost(Candidate(), ModelContext{65, 200}).size_bytes);
}

}  // namespace
}  // namespace kdnas
