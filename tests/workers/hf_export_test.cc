// A student written in its teacher's Hugging Face layout (workers/hf_export.h)
// loads back: kdnas imports the directory as a teacher with the student's
// logits and tokenizer, and a PyTorch reference of the architecture written
// from transformers' formulas (tests/fixtures/hf_checkpoint.py) computes the
// same logits from its config.json and model.safetensors.
#include "workers/hf_export.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "formats/hf_checkpoint.h"
#include "formats/hf_kdnas_architecture.h"
#include "formats/safetensors_writer.h"
#include "test_util.h"
#include "tests/fixtures/hf_teacher_fixture.h"
#include "workers/teacher.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

// A compressed student of the fixture teacher of `family`, deployed.
Gpt StudentOf(const Teacher& teacher, const HfModelConfig& config) {
  Candidate c;
  Architecture& a = c.architecture;
  a.num_layers = 2;
  a.d_model = 32;
  a.num_heads = 4;
  a.d_ff = 48;
  a.context_length = 16;
  a.tie_embeddings = config.family != HfFamily::kLlama;
  a.family = StudentFamilyOf(config);
  if (a.family.llama()) a.num_kv_heads = 2;
  c.compression.weight_bits = 4;
  c.compression.group_size = 32;
  c.compression.embedding_bits = 8;
  c.compression.low_rank_ratio = 0.25;
  torch::manual_seed(9);
  Gpt student(GptConfig{a, c.compression, teacher.vocab_size()});
  torch::NoGradGuard no_grad;
  for (auto& p : student->parameters()) p.normal_(0, 0.3);
  student->Deploy();
  student->eval();
  return student;
}

TEST(HfExport, AStudentOfEachFamilyLoadsBackWithItsLogits) {
  for (const std::string family : {"llama", "qwen2", "gpt2", "llama-sp"}) {
    SCOPED_TRACE(family);
    const std::string teacher_dir = HfTeacherFixture(family);
    auto teacher = Teacher::LoadHf(teacher_dir);
    ASSERT_TRUE(teacher.ok()) << teacher.status().ToString();
    auto headers = ReadHfCheckpointHeaders(teacher_dir);
    ASSERT_TRUE(headers.ok());
    Gpt student = StudentOf(*teacher, headers->config);
    const std::string dir = testing::MakeTempDir("hf-export") + "/student";
    Status written = WriteHfCheckpoint(*student, teacher->tokenizer(), dir, SafetensorsDtype::kF32);
    ASSERT_TRUE(written.ok()) << written.ToString();
    EXPECT_EQ(WriteHfCheckpoint(*student, teacher->tokenizer(), dir, SafetensorsDtype::kF32).code(),
              StatusCode::kFailedPrecondition);  // it exists

    // kdnas imports it back: the same tokenizer files and logits.
    auto back = Teacher::LoadHf(dir);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->tokenizer().serialized(), teacher->tokenizer().serialized());
    torch::manual_seed(1);
    auto ids = torch::randint(0, teacher->vocab_size(), {2, 16}, torch::kInt64);
    torch::Tensor want;
    {
      torch::NoGradGuard no_grad;
      want = student->forward(ids);
    }
    auto got = back->Logits(ids);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_LT((*got - want).abs().max().item<float>(), 1e-4);

    // The PyTorch reference reads the same config.json and weights.
    testing::WriteRaw(dir + "/../ids.bin", ids);
    testing::WriteRaw(dir + "/../logits.bin", want);
    auto r = testing::RunPython(R"(
import json, struct, sys
import numpy as np, torch
sys.path.insert(0, "tests/fixtures")
from hf_checkpoint import gpt2_forward, llama_forward
d, V = sys.argv[1], int(sys.argv[2])
config = json.load(open(d + "/config.json"))
raw = open(d + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
sd = {}
for name, t in header.items():
    if name == "__metadata__": continue
    assert t["dtype"] == "F32", t
    b, e = t["data_offsets"]
    sd[name] = torch.from_numpy(np.frombuffer(raw[8 + n + b:8 + n + e], dtype=np.float32).copy()).reshape(t["shape"])
if config["tie_word_embeddings"]:
    sd["lm_head.weight"] = sd["model.embed_tokens.weight" if "model.embed_tokens.weight" in sd else "transformer.wte.weight"]
ids = torch.from_numpy(np.fromfile(d + "/../ids.bin", dtype=np.int64).reshape(2, 16))
want = torch.from_numpy(np.fromfile(d + "/../logits.bin", dtype=np.float32).reshape(2, 16, V))
with torch.no_grad():
    got = gpt2_forward(config, sd, ids) if config["model_type"] == "gpt2" else llama_forward(config, sd, ids)
diff = (got - want).abs().max().item()
print("max diff", diff)
assert diff < 1e-4, diff
)",
                                dir + " " + std::to_string(teacher->vocab_size()));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    fs::remove_all(fs::path(dir).parent_path());
  }
}

TEST(HfExport, HalfAndBfloat16RoundAsTorchDoes) {
  torch::manual_seed(2);
  auto x = torch::cat({torch::randn({4096}) * 10, torch::randn({512}) * 1e-6,
                       torch::tensor({65504.0f, 65520.0f, 1e-8f, -0.0f, 6.1e-5f, 5.96e-8f}),
                       // Exact ties, which round to even: normal and subnormal halves, bfloat16.
                       torch::tensor({1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, -(2.0f + 0x1p-10f),
                                      0x1p-25f, 3 * 0x1p-25f, 0x1p-15f + 0x1p-25f, 1.0f + 0x1p-8f,
                                      1.0f + 3 * 0x1p-8f, -(4.0f + 0x1p-6f)})});
  std::vector<float> values(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  for (auto [dtype, torch_dtype] : {std::pair{SafetensorsDtype::kF16, torch::kHalf},
                                    std::pair{SafetensorsDtype::kBF16, torch::kBFloat16}}) {
    const std::string bytes = EncodeFloats(values, dtype);
    auto want = x.to(torch_dtype).contiguous();
    ASSERT_EQ(bytes.size(), static_cast<size_t>(want.numel() * 2));
    EXPECT_EQ(std::memcmp(bytes.data(), want.data_ptr(), bytes.size()), 0)
        << SafetensorsDtypeName(dtype);
  }
}

TEST(HfExport, StudentsWithoutAHuggingFaceFormAreRefusedWithTheReason) {
  auto teacher = Teacher::LoadHf(HfTeacherFixture("llama"));
  ASSERT_TRUE(teacher.ok());
  Candidate c;
  c.architecture = {2, 32, 4, 48, 16, false, {{4, 48, 2}, {2, 48, 1}}};
  c.architecture.family.kind = FamilyKind::kLlama;
  Gpt student(GptConfig{c.architecture, c.compression, teacher->vocab_size()});
  const std::string dir = testing::MakeTempDir("hf-export");
  Status s = WriteHfCheckpoint(*student, teacher->tokenizer(), dir + "/s", SafetensorsDtype::kF16);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("uniform layers"), std::string::npos) << s.message();
  auto kdnas_tokenizer = Tokenizer::Build("abc", TokenizerKind::kChar);
  Gpt small(GptConfig{Architecture{1, 16, 2, 32, 8, false, {}}, {}, kdnas_tokenizer->vocab_size()});
  s = WriteHfCheckpoint(*small, JobTokenizer(*kdnas_tokenizer), dir + "/k", SafetensorsDtype::kF16);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("no Hugging Face form"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(dir + "/s"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kdnas
