// Students trained in llama.cpp's types (Compression::gguf): the weights a
// student trains and is evaluated with are exactly what its GGUF file holds,
// the file is the size the cost model predicted, and llama.cpp measures the
// trained student's held-out loss as the worker does.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <regex>

#include "formats/ggml_quants.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_size.h"
#include "formats/gguf_tokenizer.h"
#include "search/cost_model.h"
#include "test_teacher.h"
#include "test_util.h"
#include "workers/gguf_export.h"
#include "workers/gguf_quantize.h"
#include "workers/run_candidate.h"
#include "workers/teacher_gguf.h"
#include "workers/train_teacher.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

Architecture ArchitectureOf(FamilyKind kind, int d_model, int d_ff) {
  Architecture a;
  a.num_layers = 2;
  a.d_model = d_model;
  a.num_heads = 4;
  a.d_ff = d_ff;
  a.context_length = 32;
  a.family.kind = kind;
  if (kind != FamilyKind::kGpt2) {
    a.num_kv_heads = 2;
    a.family.rope.theta = 10000.0;
  }
  return a;
}

GgufFormats Formats(const std::string& weight, const std::string& attention = "",
                    const std::string& ffn = "", const std::string& embedding = "",
                    const std::string& output = "") {
  auto formats = ParseGgufFormats({weight, attention, ffn, embedding, output});
  EXPECT_TRUE(formats.ok()) << formats.status().ToString();
  return *formats;
}

JobTokenizer CharTokenizer() {
  auto own = Tokenizer::Build(testing::Shakespeare().substr(0, 20000), TokenizerKind::kChar);
  EXPECT_TRUE(own.ok());
  return JobTokenizer(*own);
}

// Every value of each tensor of `file`, dequantized as llama.cpp does.
std::map<std::string, std::vector<float>> Dequantized(const std::string& path) {
  auto file = ReadGgufFile(path);
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  const std::string bytes = testing::ReadFile(path);
  std::map<std::string, std::vector<float>> out;
  for (const GgufTensorInfo& t : file->tensors) {
    auto data = file->TensorBytes(bytes, t.name);
    EXPECT_TRUE(data.ok());
    const int64_t cols = t.shape[0];
    const int64_t rows = t.shape.size() > 1 ? t.shape[1] : 1;
    const int64_t row_bytes = GgmlRowBytes(t.type, cols);
    std::vector<float> values(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
      DequantizeRow(t.type, reinterpret_cast<const uint8_t*>(data->data()) + r * row_bytes, cols,
                    values.data() + r * cols);
    }
    out[t.name] = std::move(values);
  }
  return out;
}

// A model of `formats` computes in training (fake quantization) what it
// computes deployed, and what it is deployed as is what its GGUF file holds:
// each tensor of the file, dequantized, equals the deployed model written
// in F32 (the same writer's transposes and permutations), bit for bit. Rows
// of 128 or 384 values take llama.cpp's fallback for the k-quants.
TEST(GgufTraining, DeployedWeightsAreWhatTheGgufFileHolds) {
  const JobTokenizer tokenizer = CharTokenizer();
  const std::string dir = testing::MakeTempDir("gguf-training");
  struct Case {
    Architecture arch;
    GgufFormats formats;
  };
  Architecture untied_llama = ArchitectureOf(FamilyKind::kLlama, 256, 384);
  Architecture tied_qwen = ArchitectureOf(FamilyKind::kQwen2, 128, 256);
  tied_qwen.tie_embeddings = true;
  const Case cases[] = {
      {ArchitectureOf(FamilyKind::kGpt2, 256, 512), Formats("q4_k")},
      {ArchitectureOf(FamilyKind::kGpt2, 128, 256), Formats("q3_k", "", "", "q8_0")},
      {untied_llama, Formats("q4_k", "q5_k", "", "q6_k", "q8_0")},
      {untied_llama, Formats("q2_k")},
      {tied_qwen, Formats("bf16", "q4_1", "q5_1")},
  };
  for (const Case& c : cases) {
    const std::string label = std::string(FamilyKindName(c.arch.family.kind)) + " d" +
                              std::to_string(c.arch.d_model) + " " + GgufFormatsText(c.formats);
    SCOPED_TRACE(label);
    Compression compression;
    compression.gguf = c.formats;
    torch::manual_seed(5);
    Gpt model(GptConfig{c.arch, compression, tokenizer.vocab_size(), true});
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::randint(0, tokenizer.vocab_size(), {2, 32}, torch::kInt64);
    const torch::Tensor trained = model->forward(x);

    const std::string file = dir + "/student.gguf";
    auto written = WriteGgufFile(*model, tokenizer, GgufWeightTypesOf(c.formats), "t", file);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    model->Deploy();
    EXPECT_TRUE(torch::equal(model->forward(x), trained));
    const std::string f32 = dir + "/deployed.gguf";
    ASSERT_TRUE(
        WriteGgufFile(*model, tokenizer, GgufWeightTypes::All(GgmlType::kF32), "t", f32).ok());

    const auto stored = Dequantized(file);
    const auto deployed = Dequantized(f32);
    ASSERT_EQ(stored.size(), deployed.size());
    bool quantized = false;
    for (const GgufTensorInfo& t : written->tensors) {
      const auto& a = stored.at(t.name);
      const auto& b = deployed.at(t.name);
      ASSERT_EQ(a.size(), b.size()) << t.name;
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
          << t.name << " (" << GgmlTypeName(t.type) << ")";
      quantized = quantized || GgmlTypeOf(t.type).quantized;
    }
    EXPECT_EQ(quantized, c.formats.weight != GgmlType::kBF16 || c.formats.any_override());
    std::printf("%s: %s\n", label.c_str(), GgufTensorTypesText(written->tensors).c_str());
  }
  fs::remove_all(dir);
}

TEST(GgufTraining, FakeQuantizationPassesTheGradientStraightThrough) {
  torch::Tensor w = torch::randn({4, 256}, torch::requires_grad());
  torch::Tensor q = GgufFakeQuantize(w, GgmlType::kQ4_K);
  EXPECT_TRUE(torch::equal(q.detach(), GgufRoundTrip(w, GgmlType::kQ4_K)));
  EXPECT_FALSE(torch::equal(q.detach(), w.detach()));
  (q * 3).sum().backward();
  EXPECT_TRUE(torch::equal(w.grad(), torch::full({4, 256}, 3.0f)));
}

// A search trial of a student in llama.cpp's types: its only artifact is
// the GGUF file, of the predicted size; llama.cpp's held-out NLL of it
// (kdnas-worker llama, the worker's own windows) is the worker's val_loss.
class GgufTrialTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(1);  // ctest runs tests in parallel on 2 cores
    dir_ = testing::MakeTempDir("gguf-trial");
    auto r = testing::TrainTestTeacher(dir_ + "/teacher.pt", {2, 64, 2, 256, 64, false, {}}, 150);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // A trial of the suite's teacher, its outputs in dir_/name.
  static RunOptions TrialOptions(const std::string& name) {
    RunOptions o;
    o.job.teacher_path = dir_ + "/teacher.pt";
    o.job.data_path = "data/tinyshakespeare.txt";
    o.job.eval_tokens = 2048;
    o.out_dir = dir_ + "/" + name;
    o.latency_repeats = 1;
    o.threads = 1;
    return o;
  }

  static StatusOr<TrialReport> ExpectLlamaCppAgrees(const Candidate& c, const std::string& name,
                                                    LatencyMethod latency) {
    RunOptions o = TrialOptions(name);
    o.train_steps = 40;
    o.candidate = c;
    o.latency_method = latency;
    auto r = RunCandidate(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return r;
    ExpectGgufAgrees(c, name, *r);
    return r;
  }

  static void ExpectGgufAgrees(const Candidate& c, const std::string& name,
                               const TrialReport& report) {
    const TrialReport* r = &report;
    EXPECT_TRUE(r->packed_path.empty());
    ASSERT_FALSE(r->gguf_path.empty());
    // The size: the file's bytes, as the cost model predicted them from the
    // tokenizer's metadata (GgufModelFileBytes lays the whole file out).
    auto metadata = GgufTokenizerMetadata(
        JobTokenizer(*Tokenizer::Build(testing::Shakespeare(), TokenizerKind::kChar)));
    ASSERT_TRUE(metadata.ok());
    auto predicted = GgufModelFileBytes(c.architecture, 65, GgufWeightTypesOf(c.compression.gguf),
                                        kGgufStudentName, *metadata);
    ASSERT_TRUE(predicted.ok()) << predicted.status().ToString();
    EXPECT_EQ(r->metrics.size_bytes(), *predicted);
    EXPECT_EQ(r->metrics.gguf_size_bytes(), *predicted);
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(r->gguf_path)), *predicted);
    EXPECT_FALSE(r->gguf_tensor_types.empty());
    EXPECT_NE(testing::ReadFile(r->metrics_path).find("\"gguf_tensor_types\""), std::string::npos);

    const std::string out = dir_ + "/" + name + "-llama.txt";
    const std::string cmd = std::string(KDNAS_WORKER_BIN) + " llama --gguf " + r->gguf_path +
                            " --data data/tinyshakespeare.txt --context " +
                            std::to_string(c.architecture.context_length) +
                            " --eval-tokens 2048 --threads 1 >" + out + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << testing::ReadFile(out);
    const std::string text = testing::ReadFile(out);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(text, m, std::regex("held-out NLL ([0-9.]+)"))) << text;
    const double llama_nll = std::stod(m[1]);
    const double diff = std::abs(llama_nll - r->metrics.val_loss());
    std::printf("%s (%s): val_loss %.4f, llama.cpp %.4f, diff %.4f, %lld bytes\n", name.c_str(),
                r->gguf_tensor_types.c_str(), r->metrics.val_loss(), llama_nll, diff,
                static_cast<long long>(r->metrics.size_bytes()));
    EXPECT_LT(diff, 0.01);
  }

  static int64_t TeacherF16Bytes() {
    auto teacher = Teacher::Load(dir_ + "/teacher.pt");
    EXPECT_TRUE(teacher.ok()) << teacher.status().ToString();
    auto gguf = TeacherGguf::Write(*teacher, teacher->tokenizer());
    EXPECT_TRUE(gguf.ok()) << gguf.status().ToString();
    return gguf.ok() ? (*gguf)->file_bytes() : -1;
  }

  static inline std::string dir_;
};

TEST_F(GgufTrialTest, Gpt2StudentInQ4KRunsInLlamaCppAsTheWorkerMeasuredIt) {
  Candidate c;
  c.architecture = ArchitectureOf(FamilyKind::kGpt2, 256, 512);
  c.architecture.context_length = 64;
  c.compression.gguf = Formats("q4_k", "", "", "q8_0");
  // Its latency by llama.cpp, the teacher's F16 GGUF measured the same way.
  auto r = ExpectLlamaCppAgrees(c, "gpt2-q4k", LatencyMethod::kLlamaCpp);
  ASSERT_TRUE(r.ok());
  const v1::TrialMetrics& m = r->metrics;
  ASSERT_TRUE(m.has_latency_ms() && m.has_speedup() && m.has_compression_ratio());
  EXPECT_GT(m.latency_ms(), 0);
  EXPECT_DOUBLE_EQ(m.tokens_per_second(), 1e3 / m.latency_ms());
  EXPECT_GT(m.prompt_tokens_per_second(), 0);
  EXPECT_GT(m.speedup(), 0);
  EXPECT_DOUBLE_EQ(m.compression_ratio(), static_cast<double>(TeacherF16Bytes()) /
                                              static_cast<double>(m.gguf_size_bytes()));
  EXPECT_NE(r->latency_measured_with.find("llama.cpp"), std::string::npos)
      << r->latency_measured_with;
  EXPECT_NE(r->latency_measured_with.find("prompt of 32 tokens"), std::string::npos)
      << r->latency_measured_with;
  std::printf("latency %.3f ms/token, speedup %.2fx, compression %.2fx: %s\n", m.latency_ms(),
              m.speedup(), m.compression_ratio(), r->latency_measured_with.c_str());
}

// For rungs that compare latency: the untrained student's GGUF file is
// measured before training, and every progress report carries the figure.
TEST_F(GgufTrialTest, LatencyBeforeTrainingIsReportedWithTheProgress) {
  RunOptions o = TrialOptions("latency-at-rungs");
  o.train_steps = 4;
  o.report_steps = {2};
  o.candidate.architecture = ArchitectureOf(FamilyKind::kGpt2, 64, 256);
  o.candidate.architecture.context_length = 64;
  o.candidate.compression.gguf = Formats("q8_0");
  o.latency_method = LatencyMethod::kLlamaCpp;
  o.latency_before_training = true;
  std::vector<double> reported;
  auto r = RunCandidate(o, [&](const TrainingProgress& p) {
    if (fs::exists(o.out_dir + "/untrained-student.gguf")) ADD_FAILURE() << "probe file left";
    reported.push_back(p.latency_ms);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_FALSE(reported.empty());
  for (double ms : reported) EXPECT_GT(ms, 0);
  EXPECT_GT(r->metrics.latency_ms(), 0);  // measured again on the trained student's file

  o.out_dir = dir_ + "/latency-at-rungs-torch";  // LibTorch latency is not measured then
  o.latency_method = LatencyMethod::kTorch;
  auto torch_latency = RunCandidate(o);
  EXPECT_EQ(torch_latency.status().code(), StatusCode::kFailedPrecondition);
}

// A job measured by llama.cpp does not fall back to LibTorch for a student
// that has no GGUF file: the trial fails with the reason.
TEST_F(GgufTrialTest, LlamaCppLatencyOfAStudentWithoutAGgufFileFailsTheTrial) {
  RunOptions o = TrialOptions("no-gguf");
  o.train_steps = 2;
  o.candidate.architecture = {2, 64, 2, 256, 64, false, {{2, 256}, {1, 128}}};
  o.latency_method = LatencyMethod::kLlamaCpp;
  auto r = RunCandidate(o);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("latency: the job measures latency with llama.cpp, and this "
                                      "student has no GGUF file: GGUF: llama.cpp's gpt2"),
            std::string::npos)
      << r.status().ToString();
  EXPECT_FALSE(fs::exists(o.out_dir + "/student.gguf"));
}

TEST_F(GgufTrialTest, Gpt2StudentInQ4_0WithFallbacksRunsInLlamaCppAsTheWorkerMeasuredIt) {
  Candidate c;
  c.architecture = ArchitectureOf(FamilyKind::kGpt2, 64, 256);
  c.architecture.context_length = 64;
  c.architecture.tie_embeddings = true;
  c.compression.gguf = Formats("q2_k");  // rows of 64 and 256: q4_0 and q2_k
  auto r = ExpectLlamaCppAgrees(c, "gpt2-q2k", LatencyMethod::kTorch);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->metrics.has_latency_ms());
  EXPECT_FALSE(r->metrics.has_speedup());
  EXPECT_NE(r->latency_measured_with.find("LibTorch"), std::string::npos);
}

}  // namespace
}  // namespace kdnas
