// Loading any TorchScript teacher: a module traced by python3-torch with a
// separate tokenizer file, or with the tokenizer embedded; and clear errors
// for everything that is wrong with a teacher file.
#include "workers/teacher.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "formats/torchscript_archive.h"
#include "test_util.h"
#include "workers/run_candidate.h"
#include "workers/trial_executor.h"

namespace kdnas {
namespace {

// Traces a bigram model (embedding -> linear) with V outputs over a
// vocabulary of `vocab_in` ids and saves it; `extra` adds the tokenizer file
// as the archive's kdnas/tokenizer.bin; `flat` returns [B*T, V] instead.
const char kTrace[] = R"(
import sys, torch
out, vocab_in, V, extra, flat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
torch.manual_seed(0)
class Bigram(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab_in, 16)
        self.head = torch.nn.Linear(16, V)
    def forward(self, idx):
        y = self.head(self.emb(idx))
        return y.reshape(-1, y.size(-1)) if flat else y
m = torch.jit.trace(Bigram().eval(), torch.zeros(2, 8, dtype=torch.long))
files = {"kdnas/tokenizer.bin": open(extra, "rb").read()} if extra != "-" else {}
torch.jit.save(m, out, _extra_files=files)
idx = torch.arange(24).remainder(vocab_in).view(2, 12)
with torch.no_grad():
    m(idx).numpy().tofile(out + ".logits")
)";

class TeacherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("teacher");
    tokenizer_ = std::make_unique<Tokenizer>(*Tokenizer::Build("abcdefghij", TokenizerKind::kChar));
    tok_path_ = dir_ + "/tok.bin";
    testing::WriteFile(tok_path_, tokenizer_->Serialize());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Trace(const std::string& name, int V, bool embed_tokenizer, bool flat = false) {
    std::string path = dir_ + "/" + name;
    auto r = testing::RunPython(kTrace, path + " 10 " + std::to_string(V) + " " +
                                            (embed_tokenizer ? tok_path_ : std::string("-")) +
                                            (flat ? " 1" : " 0"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return path;
  }
  std::string dir_, tok_path_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

TEST_F(TeacherTest, LoadsAPythonTracedModuleWithATokenizerFile) {
  std::string path = Trace("bigram.pt", 10, false);
  auto t = Teacher::Load(path, tok_path_);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->vocab_size(), 10);
  EXPECT_FALSE(t->architecture().has_value());
  EXPECT_TRUE(t->CheckContext(32).ok());
  auto idx = torch::arange(24, torch::kInt64).remainder(10).view({2, 12});
  auto logits = t->Logits(idx);
  ASSERT_TRUE(logits.ok());
  auto want =
      torch::from_file(path + ".logits", false, 2 * 12 * 10, torch::kFloat).view({2, 12, 10});
  EXPECT_LT((*logits - want).abs().max().item<float>(), 1e-5);
}

TEST_F(TeacherTest, ReadsTheTokenizerEmbeddedByPython) {
  auto t = Teacher::Load(Trace("embedded.pt", 10, true));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->tokenizer().serialized(), tokenizer_->Serialize());
}

TEST_F(TeacherTest, ExplainsWhatIsWrong) {
  auto missing = Teacher::Load(dir_ + "/nope.pt", tok_path_);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  testing::WriteFile(dir_ + "/corrupt.pt", "this is not a zip archive");
  auto corrupt = Teacher::Load(dir_ + "/corrupt.pt", tok_path_);
  EXPECT_EQ(corrupt.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(corrupt.status().message().find("not a loadable TorchScript file"), std::string::npos);

  std::string plain = Trace("plain.pt", 10, false);
  auto no_tokenizer = Teacher::Load(plain);
  EXPECT_EQ(no_tokenizer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_tokenizer.status().message().find("--teacher-tokenizer"), std::string::npos);

  testing::WriteFile(dir_ + "/bad_tok.bin", "\x00\x09");
  EXPECT_EQ(Teacher::Load(plain, dir_ + "/bad_tok.bin").status().code(), StatusCode::kDataLoss);

  auto wrong_vocab = Teacher::Load(Trace("v12.pt", 12, false), tok_path_);
  ASSERT_TRUE(wrong_vocab.ok());
  Status s = wrong_vocab->CheckContext(16);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("vocabulary mismatch"), std::string::npos) << s.message();

  auto flat = Teacher::Load(Trace("flat.pt", 10, false, true), tok_path_);
  ASSERT_TRUE(flat.ok());
  Status shape = flat->CheckContext(16);
  EXPECT_EQ(shape.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(shape.message().find("expected [1, 16, V]"), std::string::npos) << shape.message();
}

TEST_F(TeacherTest, TheControllersReaderSeesWhatPythonEmbedded) {
  const std::string path = Trace("embedded.pt", 10, true);
  auto extras = ReadTorchScriptExtraFiles(path, {"kdnas/tokenizer.bin", "kdnas/architecture.json"});
  ASSERT_TRUE(extras.ok()) << extras.status().ToString();
  ASSERT_EQ(extras->count("kdnas/tokenizer.bin"), 1u);
  EXPECT_EQ(extras->at("kdnas/tokenizer.bin"), tokenizer_->Serialize());
  EXPECT_EQ(extras->count("kdnas/architecture.json"), 0u) << "not a kdnas GPT";
}

// A teacher that is not a kdnas GPT cannot be inherited from: the trial
// fails for good with the reason instead of training from scratch under an
// inherit label.
TEST_F(TeacherTest, InheritingFromAnotherModuleFailsInsteadOfTrainingFromScratch) {
  std::string corpus;
  for (int i = 0; i < 4000; ++i) corpus += static_cast<char>('a' + (i * 7 + i / 13) % 10);
  testing::WriteFile(dir_ + "/corpus.txt", corpus);
  RunOptions o;
  o.job.teacher_path = Trace("other.pt", 10, true);
  o.job.data_path = dir_ + "/corpus.txt";
  o.job.eval_tokens = 256;
  o.out_dir = dir_ + "/out";
  o.train_steps = 2;
  o.batch_size = 2;
  o.measure_latency = false;
  o.write_torchscript = false;
  o.candidate.architecture = {1, 16, 2, 32, 16, false, {}};
  o.candidate.distillation.init = Init::kInherit;
  auto inherited = RunCandidate(o);
  ASSERT_FALSE(inherited.ok());
  EXPECT_EQ(inherited.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(inherited.status().message().find("cannot inherit"), std::string::npos)
      << inherited.status().message();
  EXPECT_FALSE(RetryableTrialFailure(inherited.status()));
  EXPECT_FALSE(std::filesystem::exists(o.out_dir + "/student.kdna"));

  // From scratch it trains, and without a latency measurement none is reported.
  o.candidate.distillation.init = Init::kScratch;
  auto scratch = RunCandidate(o);
  ASSERT_TRUE(scratch.ok()) << scratch.status().ToString();
  EXPECT_EQ(scratch->init_summary, "scratch");
  EXPECT_FALSE(scratch->metrics.has_latency_ms());
  EXPECT_FALSE(scratch->metrics.has_tokens_per_second());
}

}  // namespace
}  // namespace kdnas
