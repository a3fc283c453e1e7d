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
  if (rng.Bernoulli(0.3)) {
    for (int l = 0; l < a.num_layers; ++l)
      a.layers.push_back({1 + static_cast<int>(rng.Below(a.num_heads)),
                          8 * (1 + static_cast<int>(rng.Below(16)))});
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
  int checked = 0, low_rank = 0, bitmap = 0, nofm = 0, sparse_dense = 0;
  while (checked < 60) {
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
    EXPECT_EQ(art->candidate.architecture.num_layers, c.architecture.num_layers);
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
  EXPECT_EQ(ReadPackedArtifact(dir + "/missing.kdna").status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kdnas
