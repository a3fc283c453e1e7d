#include "workers/packed_artifact.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "proto/candidate_json.h"
#include "search/artifact_layout.h"
#include "search/cost_model.h"
#include "search/rng.h"
#include "search/search_space.h"
#include "test_util.h"

namespace kdnas {
namespace {

template <typename T>
T Pick(Rng& rng, std::vector<T> values) {
  return values[rng.Below(values.size())];
}

Candidate RandomCandidate(Rng& rng) {
  Candidate c;
  auto& a = c.architecture;
  a.num_layers = 1 + static_cast<int>(rng.Below(3));
  a.num_heads = Pick<int>(rng, {1, 2, 4});
  a.d_model = Pick<int>(rng, {16, 32, 48, 64});
  a.d_ff = 8 * (2 + static_cast<int>(rng.Below(15)));
  a.context_length = Pick<int>(rng, {8, 16, 24});
  a.tie_embeddings = rng.Bernoulli(0.3);
  a.family.kind =
      Pick<FamilyKind>(rng, {FamilyKind::kGpt2, FamilyKind::kLlama, FamilyKind::kQwen2});
  if (a.family.llama()) {
    a.family.norm_eps = Pick<double>(rng, {1e-5, 1e-6});
    a.family.rope.theta = Pick<double>(rng, {10000.0, 500000.0});
    if (rng.Bernoulli(0.3)) {
      a.family.rope.scaling = Rope::Scaling::kLlama3;
      a.family.rope.factor = 8;
      a.family.rope.original_max_position_embeddings = 16;
    }
    a.num_kv_heads = a.num_heads / Pick<int>(rng, {1, 2});
    if (rng.Bernoulli(0.3)) a.fixed_head_dim = Pick<int>(rng, {4, 10, 16});
  }
  if (rng.Bernoulli(0.3)) {
    for (int l = 0; l < a.num_layers; ++l) {
      LayerChoice layer{1 + static_cast<int>(rng.Below(a.num_heads)),
                        8 * (1 + static_cast<int>(rng.Below(16)))};
      if (a.family.llama() && layer.num_heads % 2 == 0 && rng.Bernoulli(0.5))
        layer.num_kv_heads = layer.num_heads / 2;
      else if (a.family.llama())
        layer.num_kv_heads = layer.num_heads;
      a.layers.push_back(layer);
    }
  }
  auto& q = c.compression;
  q.weight_bits = Pick<int>(rng, {16, 8, 6, 4, 3, 2});
  q.embedding_bits = Pick<int>(rng, {16, 8, 6, 4, 3, 2});
  q.group_size = Pick<int>(rng, {32, 64, 128, -1});
  switch (rng.Below(4)) {
    case 0:
      break;
    case 1:
      q.sparsity = rng.Uniform(0.0, 0.95);
      break;
    case 2:
      q.sparsity_pattern = SparsityPattern::k2of4;
      break;
    default:
      q.sparsity_pattern = SparsityPattern::k1of4;
      break;
  }
  if (rng.Bernoulli(0.4)) q.low_rank_ratio = rng.Uniform(0.05, 1.0);
  return c;
}

TEST(PackedArtifact, SizeEqualsTheCostModelToTheByteAndDecodesToTheDeployedWeights) {
  Rng rng(7);
  const std::string dir = testing::MakeTempDir("packed");
  const std::string corpus = "the quick brown fox jumps over the lazy dog. THE END!\n\xc3\xa9";
  int checked = 0, low_rank = 0, bitmap = 0, nofm = 0, sparse_dense = 0, llama = 0, qwen2 = 0,
      grouped = 0;
  while (checked < 90) {
    Candidate c = RandomCandidate(rng);
    if (!ValidateCandidate(c).ok()) continue;
    auto tok = Tokenizer::Build(corpus.substr(0, 10 + rng.Below(corpus.size() - 12)) + "\xc3\xa9",
                                rng.Bernoulli(0.2) ? TokenizerKind::kByte : TokenizerKind::kChar);
    ASSERT_TRUE(tok.ok());
    torch::manual_seed(checked);
    Gpt model(GptConfig{c.architecture, c.compression, tok->vocab_size()});
    // Spread the weights so quantization uses the full range.
    for (auto& p : model->parameters()) p.data().normal_(0, 0.5);
    model->UpdateMasks(c.compression.sparsity);
    const std::string path = dir + "/a.kdna";
    int64_t size = 0;
    Status s = WritePackedArtifact(*model, c, JobTokenizer(*tok), path, &size);
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << CandidateToJson(c);
    const CostEstimate cost = EstimateCost(c, {tok->vocab_size(), tok->serialized_bytes()});
    ASSERT_EQ(static_cast<int64_t>(std::filesystem::file_size(path)), cost.size_bytes);
    ASSERT_EQ(size, cost.size_bytes);
    const ArtifactLayout layout = LayoutArtifact(c, tok->vocab_size(), tok->serialized_bytes());
    for (const auto& t : layout.tensors) {
      low_rank += t.name.size() > 2 && t.name.substr(t.name.size() - 2) == ".u";
      bitmap += t.sparse == SparseEncoding::kBitmap;
      nofm += t.sparse == SparseEncoding::kNofM;
      sparse_dense += t.sparse == SparseEncoding::kDense && t.kept < t.numel();
    }

    auto art = ReadPackedArtifact(path);
    ASSERT_TRUE(art.ok()) << art.status().ToString();
    EXPECT_EQ(art->tokenizer.serialized(), tok->Serialize());
    const Architecture& read = art->candidate.architecture;
    EXPECT_EQ(read.num_layers, c.architecture.num_layers);
    EXPECT_EQ(read.family, c.architecture.family);
    EXPECT_EQ(read.head_dim(), c.architecture.head_dim());
    for (int l = 0; l < c.architecture.num_layers; ++l) {
      EXPECT_EQ(read.layer_heads(l), c.architecture.layer_heads(l));
      EXPECT_EQ(read.layer_kv_heads(l), c.architecture.layer_kv_heads(l));
      EXPECT_EQ(read.layer_d_ff(l), c.architecture.layer_d_ff(l));
      grouped += c.architecture.layer_kv_heads(l) < c.architecture.layer_heads(l);
    }
    llama += c.architecture.family.kind == FamilyKind::kLlama;
    qwen2 += c.architecture.family.kind == FamilyKind::kQwen2;
    model->Deploy();
    auto weights = model->Weights();
    ASSERT_EQ(art->tensors.size(), weights.size());
    for (size_t i = 0; i < weights.size(); ++i) {
      const auto& t = art->tensors[i];
      ASSERT_EQ(t.name, weights[i].name);
      auto want = weights[i].param->detach().reshape({t.rows, t.cols});
      ASSERT_TRUE(torch::equal(t.values, want))
          << t.name << " max diff " << (t.values - want).abs().max().item<float>();
      if (t.sparse_encoding != 0) {
        ASSERT_TRUE(torch::equal(t.mask, weights[i].mask->reshape({t.rows, t.cols}))) << t.name;
      }
    }
    ++checked;
  }
  // The random candidates exercised every encoding.
  EXPECT_GT(low_rank, 0);
  EXPECT_GT(bitmap, 0);
  EXPECT_GT(nofm, 0);
  EXPECT_GT(sparse_dense, 0);
  // ... and both families, with grouped-query attention.
  EXPECT_GT(llama, 0);
  EXPECT_GT(qwen2, 0);
  EXPECT_GT(grouped, 0);
  std::filesystem::remove_all(dir);
}

TEST(PackedArtifact, ReaderRejectsCorruptFiles) {
  Candidate c;
  c.architecture = {1, 16, 2, 32, 8, false, {}};
  c.compression.weight_bits = 4;
  auto tok = Tokenizer::Build("abcdef", TokenizerKind::kChar);
  Gpt model(GptConfig{c.architecture, c.compression, tok->vocab_size()});
  const std::string dir = testing::MakeTempDir("packed");
  ASSERT_TRUE(WritePackedArtifact(*model, c, JobTokenizer(*tok), dir + "/a.kdna").ok());
  std::string bytes = testing::ReadFile(dir + "/a.kdna");
  ASSERT_TRUE(ParsePackedArtifact(bytes).ok());
  EXPECT_EQ(ParsePackedArtifact(bytes.substr(0, bytes.size() - 1)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(ParsePackedArtifact(bytes + "x").status().code(), StatusCode::kDataLoss);
  std::string magic = bytes;
  magic[0] = 'X';
  EXPECT_EQ(ParsePackedArtifact(magic).status().code(), StatusCode::kDataLoss);
  // A version 1 file was trained with the exact GELU: refused, with the reason.
  std::string v1 = bytes;
  v1[4] = 1;
  auto old = ParsePackedArtifact(v1);
  EXPECT_EQ(old.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(old.status().message().find("GELU"), std::string::npos) << old.status().message();
  // A version 2 file has GPT-2 blocks and a 64-byte header: refused, with the reason.
  std::string v2 = bytes;
  v2[4] = 2;
  old = ParsePackedArtifact(v2);
  EXPECT_EQ(old.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(old.status().message().find("64-byte header"), std::string::npos)
      << old.status().message();
  EXPECT_EQ(ReadPackedArtifact(dir + "/missing.kdna").status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kdnas
