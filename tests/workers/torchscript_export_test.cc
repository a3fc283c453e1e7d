#include "workers/torchscript_export.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"
#include "workers/teacher.h"

namespace kdnas {
namespace {

using testing::MakeTempDir;
using testing::RunPython;
using testing::WriteRaw;

Candidate SmallCandidate() {
  Candidate c;
  c.architecture.num_layers = 2;
  c.architecture.d_model = 32;
  c.architecture.num_heads = 4;
  c.architecture.d_ff = 64;
  c.architecture.context_length = 16;
  return c;
}

Tokenizer SmallTokenizer() {
  return *Tokenizer::Build("abcdefghijklmnopqrstuvwxyz .,\n", TokenizerKind::kChar);
}

// Exports `model`, loads it with torch.jit.load in python3-torch and checks the
// logits of a random batch against the C++ forward.
void ExpectPythonAgrees(Gpt model, const Tokenizer& tok) {
  model->eval();
  std::string dir = MakeTempDir("ts");
  ASSERT_TRUE(SaveTorchScript(*model, JobTokenizer(tok), dir + "/m.pt").ok());
  torch::manual_seed(3);
  const int64_t T = model->config().architecture.context_length;
  auto idx = torch::randint(0, tok.vocab_size(), {3, T}, torch::kInt64);
  torch::Tensor logits;
  {
    torch::NoGradGuard ng;
    logits = model->forward(idx);
  }
  WriteRaw(dir + "/idx.bin", idx);
  WriteRaw(dir + "/logits.bin", logits);
  auto r = RunPython(R"(
import sys, numpy as np, torch
d = sys.argv[1]; B, T, V = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
m = torch.jit.load(d + "/m.pt")
idx = torch.from_numpy(np.fromfile(d + "/idx.bin", dtype=np.int64).reshape(B, T))
want = torch.from_numpy(np.fromfile(d + "/logits.bin", dtype=np.float32).reshape(B, T, V))
with torch.no_grad():
    got = m(idx)
    short = m(idx[:, : T // 2])
print("maxdiff", (got - want).abs().max().item())
assert tuple(got.shape) == (B, T, V), got.shape
assert (short - want[:, : T // 2]).abs().max().item() < 1e-4
assert (got - want).abs().max().item() < 1e-4
)",
                     dir + " 3 " + std::to_string(T) + " " + std::to_string(tok.vocab_size()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // And the C++ loader reads it back as a teacher with its tokenizer.
  auto teacher = Teacher::Load(dir + "/m.pt");
  ASSERT_TRUE(teacher.ok()) << teacher.status().ToString();
  EXPECT_EQ(teacher->tokenizer().serialized(), tok.Serialize());
  ASSERT_TRUE(teacher->architecture().has_value());
  EXPECT_EQ(*teacher->architecture(), model->config().architecture);
  ASSERT_TRUE(teacher->CheckContext(static_cast<int>(T)).ok());
  auto again = teacher->Logits(idx);
  ASSERT_TRUE(again.ok());
  EXPECT_LT((*again - logits).abs().max().item<float>(), 1e-4);
  std::filesystem::remove_all(dir);
}

TEST(TorchScriptExport, PlainPyTorchLoadsTheStudentAndAgrees) {
  torch::manual_seed(1);
  GptConfig config{SmallCandidate().architecture, {}, SmallTokenizer().vocab_size()};
  ExpectPythonAgrees(Gpt(config), SmallTokenizer());
}

TEST(TorchScriptExport, TiedLowRankPerLayerQuantizedDeployed) {
  torch::manual_seed(2);
  Candidate c = SmallCandidate();
  c.architecture.tie_embeddings = true;
  c.architecture.layers = {{2, 48}, {4, 64}};
  c.compression.low_rank_ratio = 0.25;
  c.compression.weight_bits = 4;
  c.compression.group_size = 32;
  c.compression.embedding_bits = 8;
  GptConfig config{c.architecture, c.compression, SmallTokenizer().vocab_size()};
  Gpt model(config);
  ASSERT_TRUE(model->layers[0]->as<BlockImpl>()->fc->low_rank());
  model->Deploy();
  ExpectPythonAgrees(model, SmallTokenizer());
}

// Llama blocks (rotary positions with llama3 scaling, grouped-query
// attention, SwiGLU, RMSNorm) and Qwen2's q/k/v biases, low rank and per-layer
// heads and KV groups: PyTorch runs the exported source to the same logits.
TEST(TorchScriptExport, LlamaFamilyStudents) {
  for (FamilyKind kind : {FamilyKind::kLlama, FamilyKind::kQwen2}) {
    SCOPED_TRACE(FamilyKindName(kind));
    torch::manual_seed(4);
    Candidate c = SmallCandidate();
    BlockFamily& f = c.architecture.family;
    f.kind = kind;
    f.norm_eps = 1e-6;
    f.rope = {Rope::Scaling::kLlama3, 500000.0, 8.0, 1.0, 4.0, 8};
    c.architecture.num_kv_heads = 2;
    c.architecture.layers = {{4, 48, 2}, {2, 64, 1}};
    c.compression.low_rank_ratio = 0.25;
    Gpt model(GptConfig{c.architecture, c.compression, SmallTokenizer().vocab_size()});
    // Non-zero biases and norms, so each one's place is checked.
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.normal_(0, 0.3);
    ExpectPythonAgrees(model, SmallTokenizer());
  }
}

}  // namespace
}  // namespace kdnas
