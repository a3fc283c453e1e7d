// An imported Hugging Face teacher in a trial, for each family and tokenizer
// kind: the checkpoint and its tokenizer load as the job's teacher, windows
// start with BOS when the tokenizer adds one, a student trains against it,
// and every artifact carries the checkpoint's tokenizer files (counted in
// size_bytes to the byte), so the TorchScript student loads back with it.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "formats/hf_checkpoint.h"
#include "formats/hf_kdnas_architecture.h"
#include "formats/tar_archive.h"
#include "search/cost_model.h"
#include "test_util.h"
#include "workers/hf_weights.h"
#include "workers/inherit.h"
#include "workers/packed_artifact.h"
#include "workers/run_candidate.h"
#include "workers/teacher.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

struct Family {
  std::string name;  // make_hf_teacher.py's FAMILY
  JobTokenizer::Kind kind;
  bool adds_bos;
};

class HfTeacherTest : public ::testing::TestWithParam<Family> {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(1);  // ctest runs tests in parallel on 2 cores
    dir_ = new std::string(testing::MakeTempDir("hf-teacher"));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  // The checkpoint of this test's family, made once.
  // The stored dtype of each family's fixture: one of each.
  static std::string DtypeOf(const std::string& family) {
    return family == "qwen2" ? "BF16" : family == "gpt2" ? "F16" : "F32";
  }
  static std::string Checkpoint(const std::string& family) {
    const std::string out = *dir_ + "/" + family;
    if (!fs::exists(out + "/config.json")) {
      const std::string cmd = "/usr/bin/python3 tests/fixtures/make_hf_teacher.py " + family + " " +
                              out + " " + DtypeOf(family) + " > " + out + ".log 2>&1";
      EXPECT_EQ(std::system(cmd.c_str()), 0) << testing::ReadFile(out + ".log");
    }
    return out;
  }
  static Candidate Small() {
    Candidate c;
    c.architecture = {1, 32, 2, 64, 32, true, {}};
    c.compression.weight_bits = 8;
    c.compression.group_size = 32;
    c.compression.embedding_bits = 8;
    return c;
  }
  static std::string* dir_;
};
std::string* HfTeacherTest::dir_ = nullptr;

TEST_P(HfTeacherTest, AStudentTrainsAgainstTheCheckpointAndCarriesItsTokenizer) {
  const Family& f = GetParam();
  const std::string checkpoint = Checkpoint(f.name);
  auto teacher = Teacher::LoadHf(checkpoint);
  ASSERT_TRUE(teacher.ok()) << teacher.status().ToString();
  const JobTokenizer& tokenizer = teacher->tokenizer();
  EXPECT_EQ(tokenizer.kind(), f.kind);
  EXPECT_EQ(tokenizer.bos_to_add().has_value(), f.adds_bos);
  EXPECT_EQ(tokenizer.vocab_size() % 64, 0);  // config.json's padded vocabulary
  EXPECT_EQ(teacher->context_length(), 128);  // max_position_embeddings
  ASSERT_TRUE(teacher->CheckContext(32).ok());

  RunOptions o;
  o.job.hf_teacher_dir = checkpoint;
  o.job.data_path = "data/tinyshakespeare.txt";
  o.job.eval_tokens = 1024;
  o.candidate = Small();
  // The controller makes students of the teacher's family.
  o.candidate.architecture.family = StudentFamilyOf(ReadHfCheckpointHeaders(checkpoint)->config);
  o.out_dir = *dir_ + "/out-" + f.name;
  o.train_steps = 30;
  o.batch_size = 8;
  o.measure_latency = false;
  auto job = JobResources::Load(o.job);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  o.resources = *job;
  // Windows begin with BOS when the tokenizer adds one; targets are the text.
  const Corpus& corpus = (*job)->corpus();
  Batch b = MakeBatch(corpus.train_tokens(), {0, 100}, 16, corpus.bos());
  if (f.adds_bos) {
    EXPECT_TRUE(b.x.select(1, 0).eq(*tokenizer.bos_to_add()).all().item<bool>());
    EXPECT_TRUE(b.x.narrow(1, 1, 15).equal(b.y.narrow(1, 0, 15)));
    EXPECT_TRUE(b.y.select(0, 0).equal(corpus.train_tokens().narrow(0, 0, 16)));
  } else {
    EXPECT_TRUE(b.x.narrow(1, 1, 15).equal(b.y.narrow(1, 0, 15)));
    EXPECT_TRUE(b.x.select(0, 0).equal(corpus.train_tokens().narrow(0, 0, 16)));
  }

  auto report = RunCandidate(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const auto& m = report->metrics;
  EXPECT_TRUE(std::isfinite(m.val_loss()));
  // Better than uniform over the vocabulary after 30 steps on real text.
  EXPECT_LT(m.val_loss(), std::log(static_cast<double>(tokenizer.vocab_size())));
  // size_bytes is the packed file, the tokenizer's tar included, as priced.
  const CostEstimate cost =
      EstimateCost(o.candidate, {tokenizer.vocab_size(), tokenizer.serialized_bytes()});
  EXPECT_EQ(m.size_bytes(), cost.size_bytes);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(report->packed_path)), m.size_bytes());
  auto packed = ReadPackedArtifact(report->packed_path);
  ASSERT_TRUE(packed.ok()) << packed.status().ToString();
  EXPECT_EQ(packed->tokenizer.serialized(), tokenizer.serialized());
  EXPECT_EQ(packed->tokenizer.files(), tokenizer.files());
  // The TorchScript student is a teacher with the same tokenizer.
  auto student = Teacher::Load(report->torchscript_path);
  ASSERT_TRUE(student.ok()) << student.status().ToString();
  EXPECT_EQ(student->tokenizer().kind(), f.kind);
  EXPECT_EQ(student->tokenizer().serialized(), tokenizer.serialized());
  ASSERT_TRUE(student->CheckContext(32).ok());
  // So is the student in the teacher's Hugging Face layout, in the
  // teacher's dtype, with its tokenizer's BOS and EOS ids.
  ASSERT_FALSE(report->hf_path.empty()) << report->hf_unavailable;
  const std::string hf_dir = o.out_dir + "/hf";
  ASSERT_TRUE(ExtractTar(report->hf_path, hf_dir).ok());
  auto exported = Teacher::LoadHf(hf_dir);
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  EXPECT_EQ(exported->tokenizer().serialized(), tokenizer.serialized());
  EXPECT_EQ(teacher->hf_weight_dtype(), DtypeOf(f.name));
  EXPECT_EQ(exported->hf_weight_dtype(), DtypeOf(f.name));
  const HfModelConfig& exported_config = exported->hf_model()->config();
  EXPECT_EQ(exported_config.bos_token_id, tokenizer.bos_to_add());
  ASSERT_TRUE(tokenizer.eos_id().has_value());
  EXPECT_EQ(exported_config.eos_token_ids, std::vector<int64_t>{*tokenizer.eos_id()});
  auto ids = torch::randint(0, tokenizer.vocab_size(), {1, 32}, torch::kInt64);
  auto want = student->Logits(ids), got = exported->Logits(ids);
  ASSERT_TRUE(want.ok() && got.ok());
  // 8-bit weights times fp16 scales, rounded to fp16 once more.
  EXPECT_LT((*got - *want).abs().max().item<float>(), 2e-2);
}

// A student whose layers differ has no standard config.json: the trial says
// why instead of exporting one.
TEST_F(HfTeacherTest, AStudentWithoutAHuggingFaceFormSaysWhy) {
  const std::string checkpoint = Checkpoint("llama");
  RunOptions o;
  o.job.hf_teacher_dir = checkpoint;
  o.job.data_path = "data/tinyshakespeare.txt";
  o.job.eval_tokens = 1024;
  o.candidate = Small();
  o.candidate.architecture.num_layers = 2;
  o.candidate.architecture.layers = {{2, 64, 0}, {1, 32, 0}};
  o.candidate.architecture.family = StudentFamilyOf(ReadHfCheckpointHeaders(checkpoint)->config);
  o.out_dir = *dir_ + "/out-layers";
  o.train_steps = 2;
  o.batch_size = 2;
  o.measure_latency = false;
  auto report = RunCandidate(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->hf_path.empty());
  EXPECT_NE(report->hf_unavailable.find("uniform layers"), std::string::npos)
      << report->hf_unavailable;
}

INSTANTIATE_TEST_SUITE_P(Families, HfTeacherTest,
                         ::testing::Values(Family{"llama", JobTokenizer::Kind::kBpe, true},
                                           Family{"qwen2", JobTokenizer::Kind::kBpe, false},
                                           Family{"gpt2", JobTokenizer::Kind::kBpe, false},
                                           Family{"llama-sp", JobTokenizer::Kind::kSentencePiece,
                                                  true}),
                         [](const auto& info) {
                           std::string name = info.param.name;
                           for (char& ch : name) ch = ch == '-' ? '_' : ch;
                           return name;
                         });

TEST_F(HfTeacherTest, ATarBlobIsUnpackedOnceAndANarrowerHeadCannotInherit) {
  const std::string checkpoint = Checkpoint("qwen2");
  const std::string tar = *dir_ + "/qwen2.tar";
  ASSERT_TRUE(WriteTar(checkpoint, tar).ok());
  auto unpacked = HfCheckpointDirectory(tar);
  ASSERT_TRUE(unpacked.ok()) << unpacked.status().ToString();
  EXPECT_EQ(*unpacked, tar + ".unpacked");
  EXPECT_EQ(testing::ReadFile(*unpacked + "/config.json"),
            testing::ReadFile(checkpoint + "/config.json"));
  const auto written = fs::last_write_time(*unpacked + "/model.safetensors");
  auto again = HfCheckpointDirectory(tar);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(fs::last_write_time(*again + "/model.safetensors"), written);
  EXPECT_EQ(*HfCheckpointDirectory(checkpoint), checkpoint);
  EXPECT_EQ(HfCheckpointDirectory(*dir_ + "/absent").status().code(), StatusCode::kNotFound);

  RunOptions o;
  o.job.hf_teacher_dir = *unpacked;
  o.job.data_path = "data/tinyshakespeare.txt";
  o.candidate = Small();
  o.candidate.architecture.family = StudentFamilyOf(ReadHfCheckpointHeaders(checkpoint)->config);
  o.candidate.architecture.fixed_head_dim = 8;
  o.candidate.distillation.init = Init::kInherit;
  o.out_dir = *dir_ + "/out-inherit";
  o.train_steps = 2;
  o.measure_latency = false;
  auto report = RunCandidate(o);
  EXPECT_EQ(report.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("inherit: a qwen2 student inherits whole heads, so its "
                                           "head_dim must be the teacher's 16 (it is 8)"),
            std::string::npos)
      << report.status().message();
  EXPECT_FALSE(fs::exists(o.out_dir));
}

// Every imported teacher is a kdnas Gpt of its family: copied part by part,
// it computes the checkpoint's logits.
TEST_F(HfTeacherTest, EveryImportedTeacherIsAKdnasGptOfItsFamily) {
  for (const std::string family : {"llama", "qwen2", "gpt2", "llama-sp"}) {
    SCOPED_TRACE(family);
    auto teacher = Teacher::LoadHf(Checkpoint(family));
    ASSERT_TRUE(teacher.ok()) << teacher.status().ToString();
    auto gpt = TeacherAsGpt(*teacher);
    ASSERT_TRUE(gpt.ok()) << gpt.status().ToString();
    EXPECT_EQ((*gpt)->config().architecture.family, StudentFamilyOf(teacher->hf_model()->config()));
    torch::manual_seed(6);
    auto ids = torch::randint(0, teacher->vocab_size(), {2, 40}, torch::kInt64);
    torch::NoGradGuard no_grad;
    auto want = teacher->hf_model()->Logits(ids);
    auto got = (*gpt)->forward(ids);
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-4);
  }
}

// A student of an imported teacher's shape inherits all of it, whatever the
// family.
TEST_F(HfTeacherTest, AStudentOfTheTeachersShapeInheritsAllOfIt) {
  for (const std::string family : {"llama", "qwen2", "gpt2", "llama-sp"}) {
    SCOPED_TRACE(family);
    const std::string checkpoint = Checkpoint(family);
    const Architecture teacher_shape =
        KdnasArchitectureOf(ReadHfCheckpointHeaders(checkpoint)->config);
    // The teacher's own shape, one step at a negligible learning rate: the
    // inherited student is the teacher; a scratch one is far from it.
    auto run = [&](Init init) {
      RunOptions o;
      o.job.hf_teacher_dir = checkpoint;
      o.job.data_path = "data/tinyshakespeare.txt";
      o.job.eval_tokens = 1024;
      o.candidate.architecture = teacher_shape;
      o.candidate.architecture.context_length = 32;
      o.candidate.compression.weight_bits = 16;
      o.candidate.compression.embedding_bits = 16;
      o.candidate.distillation.init = init;
      o.out_dir = *dir_ + "/out-" + family + "-" + std::to_string(static_cast<int>(init));
      o.train_steps = 1;
      o.learning_rate = 1e-9;
      o.measure_latency = false;
      o.write_torchscript = false;
      return RunCandidate(o);
    };
    auto inherited = run(Init::kInherit);
    ASSERT_TRUE(inherited.ok()) << inherited.status().ToString();
    EXPECT_NE(inherited->init_summary.find("inherit"), std::string::npos)
        << inherited->init_summary;
    EXPECT_LT(inherited->metrics.kl_to_teacher(), 1e-3);
    EXPECT_GT(inherited->metrics.teacher_agreement(), 0.99);
    auto scratch = run(Init::kScratch);
    ASSERT_TRUE(scratch.ok()) << scratch.status().ToString();
    // (Over the teacher's top-32 and the rest for a vocabulary over 1024, as
    // qwen2's: a lower bound of the full KL, smaller for a flat random teacher.)
    EXPECT_GT(scratch->metrics.kl_to_teacher(), 0.1);
  }
}

}  // namespace
}  // namespace kdnas
