// A model written as GGUF (workers/gguf_export.h) runs in llama.cpp as it
// runs in kdnas: for each family and each of llama.cpp's types, llama.cpp
// (the prebuilt libraries, evaluator/llama_runtime.h) loads the file,
// tokenizes the held-out text to kdnas's ids, and its mean NLL on kdnas's
// held-out windows agrees with kdnas's loss of the same model rounded to the
// file's values (RoundToGguf).
#include "workers/gguf_export.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "evaluator/evaluate.h"
#include "evaluator/llama_runtime.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_tokenizer.h"
#include "formats/hf_checkpoint.h"
#include "formats/hf_kdnas_architecture.h"
#include "test_util.h"
#include "tests/fixtures/hf_teacher_fixture.h"
#include "workers/corpus.h"
#include "workers/teacher.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

constexpr int kContext = 32;

// Held-out text with characters of two and three UTF-8 bytes, so the char
// tokenizer's merges are exercised.
std::string Text() {
  std::string text = testing::Shakespeare().substr(0, 20000);
  text += "\nCafé au lait, naïve façade — “quoted” ¿qué? ½ € ñ\n";
  return text;
}

Architecture ArchitectureOf(FamilyKind kind) {
  Architecture a;
  a.num_layers = 2;
  a.d_model = 256;  // rows the k-quants' super-blocks of 256 divide
  a.num_heads = 4;
  a.d_ff = 512;
  a.context_length = kContext;
  a.family.kind = kind;
  a.tie_embeddings = kind == FamilyKind::kQwen2;
  if (kind != FamilyKind::kGpt2) {
    a.num_kv_heads = 2;
    a.family.norm_eps = 1e-6;
    a.family.rope.theta = 10000.0;
  }
  return a;
}

Gpt RandomModel(const Architecture& a, int vocab) {
  Compression dense;  // 16 bits, no sparsity or low rank
  torch::manual_seed(3);
  Gpt model(GptConfig{a, dense, vocab, false});
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) {
    if (p.dim() >= 2)
      p.normal_(0, 0.08);
    else
      p.normal_(p.dim() == 1 && p.size(0) == a.d_model ? 1.0 : 0.0, 0.1);
  }
  model->eval();
  return model;
}

struct Fixture {
  JobTokenizer tokenizer;
  std::vector<int32_t> ids;
  Batch held_out;
  std::vector<std::vector<int32_t>> windows;  // each held-out window's x and last target
};

Fixture MakeFixture(JobTokenizer tokenizer) {
  const std::string text = Text();
  Fixture f{std::move(tokenizer), {}, {}, {}};
  auto ids = f.tokenizer.Encode(text);
  EXPECT_TRUE(ids.ok());
  f.ids = *ids;
  auto tokens = torch::tensor(std::vector<int64_t>(f.ids.begin(), f.ids.end()), torch::kInt64);
  // With BOS, x is BOS and the window's first context - 1 tokens.
  f.held_out = MakeBatch(tokens, EvalStarts(tokens.numel(), kContext, 512), kContext,
                         f.tokenizer.bos_to_add());
  for (int64_t w = 0; w < f.held_out.x.size(0); ++w) {
    std::vector<int32_t> window;
    for (int64_t t = 0; t < kContext; ++t) window.push_back(f.held_out.x[w][t].item<int32_t>());
    window.push_back(f.held_out.y[w][kContext - 1].item<int32_t>());
    f.windows.push_back(std::move(window));
  }
  return f;
}

std::unique_ptr<LlamaRuntime> Load(const std::string& path) {
  LlamaRuntimeOptions o;
  o.threads = 1;
  o.n_ctx = kContext + 1;
  o.batch_size = kContext + 1;
  o.f32_attention = true;
  auto runtime = LlamaRuntime::Load(path, o);
  EXPECT_TRUE(runtime.ok()) << runtime.status().ToString();
  return runtime.ok() ? std::move(*runtime) : nullptr;
}

// Largest |llama.cpp - kdnas| of each type, printed at the end.
std::map<std::string, double>& LargestDifference() {
  static std::map<std::string, double> largest;
  return largest;
}

JobTokenizer OwnTokenizer(TokenizerKind kind) {
  auto own = Tokenizer::Build(Text(), kind);
  EXPECT_TRUE(own.ok()) << own.status().ToString();
  return JobTokenizer(*own);
}

void ExpectAgreement(const Architecture& arch, JobTokenizer tokenizer,
                     const std::vector<std::string>& formats) {
  const FamilyKind family = arch.family.kind;
  const Fixture f = MakeFixture(std::move(tokenizer));
  const std::string dir = testing::MakeTempDir("gguf-export");
  for (const std::string& format : formats) {
    SCOPED_TRACE(std::string(FamilyKindName(family)) + " " + format);
    const GgmlType type = *ParseGgmlType(format);
    const GgufWeightTypes types = GgufWeightTypes::All(type);
    Gpt model = RandomModel(arch, f.tokenizer.vocab_size());
    const std::string path = dir + "/" + format + ".gguf";
    auto written = WriteGgufFile(*model, f.tokenizer, types, "test", path);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    EXPECT_EQ(written->file_bytes, static_cast<int64_t>(fs::file_size(path)));
    // Predicted to the byte without the weights (the cost model's size).
    auto tokenizer_metadata = GgufTokenizerMetadata(f.tokenizer);
    ASSERT_TRUE(tokenizer_metadata.ok());
    auto predicted =
        GgufModelFileBytes(arch, f.tokenizer.vocab_size(), types, "test", *tokenizer_metadata);
    ASSERT_TRUE(predicted.ok()) << predicted.status().ToString();
    EXPECT_EQ(*predicted, written->file_bytes);
    for (const GgufTensorInfo& t : written->tensors) {
      if (t.shape.size() == 2 && t.name != "position_embd.weight") {
        EXPECT_EQ(t.type, type) << t.name;
      }
    }
    auto parsed = ReadGgufFile(path);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();

    ASSERT_TRUE(RoundToGguf(*model, types).ok());
    torch::NoGradGuard no_grad;
    const double kdnas_nll = ValidationLoss(
        [&](const torch::Tensor& x) { return model->forward(x); }, f.held_out.x, f.held_out.y);

    auto runtime = Load(path);
    ASSERT_NE(runtime, nullptr);
    EXPECT_EQ(runtime->n_vocab(), f.tokenizer.vocab_size());
    EXPECT_EQ(runtime->architecture(), GgufArchitectureName(family));
    if (format == formats.front()) {
      auto ids = runtime->Tokenize(Text(), false, true);
      ASSERT_TRUE(ids.ok()) << ids.status().ToString();
      EXPECT_EQ(*ids, f.ids);
    }
    auto llama_nll = runtime->MeanNll(f.windows);
    ASSERT_TRUE(llama_nll.ok()) << llama_nll.status().ToString();
    const double diff = std::abs(*llama_nll - kdnas_nll);
    const bool exact = type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16;
    EXPECT_LT(diff, exact ? 0.002 : 0.01) << "llama.cpp " << *llama_nll << ", kdnas " << kdnas_nll;
    double& largest = LargestDifference()[format];
    largest = std::max(largest, diff);
    std::printf("%-6s %-5s kdnas %.5f llama.cpp %.5f diff %.5f (%lld bytes)\n",
                FamilyKindName(family), format.c_str(), kdnas_nll, *llama_nll, diff,
                static_cast<long long>(written->file_bytes));
  }
  fs::remove_all(dir);
}

const std::vector<std::string> kAllFormats = {"f32",  "f16",  "bf16", "q8_0", "q6_k",
                                              "q5_k", "q5_1", "q5_0", "q4_k", "q4_1",
                                              "q4_0", "q3_k", "q2_k"};

TEST(GgufExport, Gpt2WithTheCharTokenizerAgreesWithLlamaCpp) {
  ExpectAgreement(ArchitectureOf(FamilyKind::kGpt2), OwnTokenizer(TokenizerKind::kChar),
                  kAllFormats);
}

TEST(GgufExport, Gpt2WithTheByteTokenizerAgreesWithLlamaCpp) {
  ExpectAgreement(ArchitectureOf(FamilyKind::kGpt2), OwnTokenizer(TokenizerKind::kByte),
                  {"f32", "q8_0", "q4_k"});
}

TEST(GgufExport, LlamaAgreesWithLlamaCpp) {
  ExpectAgreement(ArchitectureOf(FamilyKind::kLlama), OwnTokenizer(TokenizerKind::kChar),
                  kAllFormats);
}

TEST(GgufExport, Qwen2AgreesWithLlamaCpp) {
  ExpectAgreement(ArchitectureOf(FamilyKind::kQwen2), OwnTokenizer(TokenizerKind::kChar),
                  {"f32", "f16", "q8_0", "q4_0", "q6_k"});
}

// Students of imported teachers with their tokenizers: a Llama-3-style
// tokenizer.json that adds BOS, a Qwen2-style one, GPT-2's vocab.json +
// merges.txt, a Llama-2-style SentencePiece tokenizer.model with byte
// fallback (tests/fixtures/make_hf_teacher.py).
TEST(GgufExport, ImportedTokenizersTokenizeAsKdnasDoes) {
  for (const std::string family : {"llama", "qwen2", "gpt2", "llama-sp"}) {
    SCOPED_TRACE(family);
    const std::string dir = HfTeacherFixture(family);
    auto teacher = Teacher::LoadHf(dir);
    ASSERT_TRUE(teacher.ok()) << teacher.status().ToString();
    auto headers = ReadHfCheckpointHeaders(dir);
    ASSERT_TRUE(headers.ok()) << headers.status().ToString();
    Architecture arch = ArchitectureOf(FamilyKind::kGpt2);
    arch.family = StudentFamilyOf(headers->config);
    if (arch.family.llama()) arch.num_kv_heads = 2;
    ExpectAgreement(arch, teacher->tokenizer(), {"f32", "q4_0"});
  }
}

// llama.cpp's SentencePiece tokenizer ("llama", written from tokenizer.model)
// on texts that stress SentencePiece: leading, repeated and trailing spaces,
// newlines and tabs, characters only byte fallback covers, U+2581 itself,
// digits, special tokens written in the text.
TEST(GgufExport, SentencePieceTokenizesHardTextsAsKdnasDoes) {
  auto teacher = Teacher::LoadHf(HfTeacherFixture("llama-sp"));
  ASSERT_TRUE(teacher.ok()) << teacher.status().ToString();
  const JobTokenizer& tokenizer = teacher->tokenizer();
  Architecture arch = ArchitectureOf(FamilyKind::kLlama);
  Gpt model = RandomModel(arch, tokenizer.vocab_size());
  const std::string dir = testing::MakeTempDir("gguf-sp");
  const std::string path = dir + "/sp.gguf";
  auto written = WriteGgufFile(*model, tokenizer, GgufWeightTypes::All(GgmlType::kF16), "sp", path);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto runtime = Load(path);
  ASSERT_NE(runtime, nullptr);
  EXPECT_EQ(runtime->bos_to_add(), tokenizer.bos_to_add());
  const std::vector<std::string> texts = {
      "Hello world",
      " leading space",
      "trailing space ",
      "  two  spaces  between  ",
      "line one\nline two\n\nline four\n",
      "tab\there\t\ttwo tabs",
      "\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 caf\xc3\xa9",
      "\xe2\x96\x81 lower one eighth block \xe2\x96\x81\xe2\x96\x81",
      "1234567890 3.14159 0007",
      "<s> a control piece </s> <unk>",
      "ROMEO:\nBut, soft! what light through yonder window breaks?",
  };
  for (const std::string& text : texts) {
    auto kdnas_ids = tokenizer.Encode(text);
    ASSERT_TRUE(kdnas_ids.ok()) << kdnas_ids.status().ToString();
    auto llama_ids = runtime->Tokenize(text, false, true);
    ASSERT_TRUE(llama_ids.ok()) << llama_ids.status().ToString();
    EXPECT_EQ(*llama_ids, *kdnas_ids) << "text: " << text;
  }
  fs::remove_all(dir);
}

// A Llama 3.x rotary scaling is written as rope_freqs.weight; llama.cpp's
// positions then agree with kdnas's (original context 8, so the scaling
// changes most frequencies within the windows).
TEST(GgufExport, Llama3RopeScalingAgreesWithLlamaCpp) {
  Architecture arch = ArchitectureOf(FamilyKind::kLlama);
  arch.family.rope = {Rope::Scaling::kLlama3, 500000.0, 8.0, 1.0, 4.0, 8};
  auto tensors = GgufModelTensors(arch, 100, GgufWeightTypes::All(GgmlType::kF32));
  ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
  EXPECT_TRUE(std::any_of(tensors->begin(), tensors->end(), [](const GgufModelTensor& t) {
    return t.info.name == "rope_freqs.weight";
  }));
  ExpectAgreement(arch, OwnTokenizer(TokenizerKind::kChar), {"f32", "q8_0"});
}

TEST(GgufExport, Qwen2WithALlama3RopeScalingIsRefused) {
  Architecture arch = ArchitectureOf(FamilyKind::kQwen2);
  arch.family.rope = {Rope::Scaling::kLlama3, 500000.0, 8.0, 1.0, 4.0, 8};
  auto tensors = GgufModelTensors(arch, 100, GgufWeightTypes::All(GgmlType::kF16));
  EXPECT_EQ(tensors.status().code(), StatusCode::kFailedPrecondition);
}

TEST(GgufExport, RowsNoBlockDividesFallBackAsLlamaQuantizeDoes) {
  Architecture a = ArchitectureOf(FamilyKind::kLlama);
  a.d_model = 128;
  a.d_ff = 384;
  auto tensors = GgufModelTensors(a, 100, GgufWeightTypes::All(GgmlType::kQ4_K));
  ASSERT_TRUE(tensors.ok());
  for (const GgufModelTensor& t : *tensors) {
    if (t.info.shape.size() < 2) continue;
    // Rows of 128 (and the 384-wide ffn_down's) are not multiples of 256.
    EXPECT_EQ(t.info.type, GgmlType::kQ5_0) << t.info.name;
  }
}

TEST(GgufExport, Gpt2LayersOfDifferentWidthsAreRefused) {
  Architecture a = ArchitectureOf(FamilyKind::kGpt2);
  a.layers = {{4, 512, 0}, {4, 256, 0}};
  auto tensors = GgufModelTensors(a, 100, GgufWeightTypes::All(GgmlType::kF16));
  EXPECT_EQ(tensors.status().code(), StatusCode::kFailedPrecondition);
}

TEST(GgufExport, PrintLargestDifferences) {
  for (const auto& [format, diff] : LargestDifference())
    std::printf("largest |llama.cpp - kdnas| for %s: %.5f nats\n", format.c_str(), diff);
}

}  // namespace
}  // namespace kdnas
