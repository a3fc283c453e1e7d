// run-candidate end to end, as a library and as the kdnas-worker command:
// artifacts, their agreement with each other and with the cost model, resume,
// and bad input (clear one-line message, non-zero exit, nothing left behind);
// and run-candidates, which keeps the job (teacher cache) across trials.
#include "workers/run_candidate.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <vector>

#include "evaluator/evaluate.h"
#include "proto/candidate_json.h"
#include "search/cost_model.h"
#include "test_teacher.h"
#include "test_util.h"
#include "workers/packed_artifact.h"
#include "workers/rtn_baseline.h"
#include "workers/torch_status.h"
#include "workers/train_teacher.h"
#include "workers/trial_executor.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

CommandResult Worker(const std::string& args, const std::string& dir) {
  const std::string err_path = dir + "/stderr.txt";
  std::string cmd = std::string(KDNAS_WORKER_BIN) + " " + args + " 2>" + err_path;
  CommandResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) r.out.append(buf, n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = testing::ReadFile(err_path);
  return r;
}

class RunCandidateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(1);  // ctest runs tests in parallel on 2 cores
    dir_ = testing::MakeTempDir("run");
    auto r = testing::TrainTestTeacher(dir_ + "/teacher.pt", {2, 32, 2, 128, 32, false, {}}, 100);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static Candidate Compressed() {
    Candidate c;
    c.architecture = {2, 32, 2, 64, 32, true, {{1, 64}, {2, 32}}};
    c.compression.weight_bits = 4;
    c.compression.group_size = 32;
    c.compression.embedding_bits = 8;
    c.compression.sparsity_pattern = SparsityPattern::k2of4;
    c.compression.low_rank_ratio = 0.3;
    c.distillation.init = Init::kInherit;
    return c;
  }
  static RunOptions Options(const std::string& out) {
    RunOptions o;
    o.job.teacher_path = dir_ + "/teacher.pt";
    o.job.data_path = "data/tinyshakespeare.txt";
    o.job.eval_tokens = 2048;
    o.out_dir = dir_ + "/" + out;
    o.train_steps = 30;
    o.latency_repeats = 2;
    return o;
  }
  static inline std::string dir_;
};

TEST_F(RunCandidateTest, WritesConsistentArtifactsOfThePredictedSize) {
  RunOptions o = Options("ok");
  o.candidate = Compressed();
  o.report_steps = {10, 20};
  int calls = 0;
  auto r = RunCandidate(o, [&](const TrainingProgress& p) {
    ++calls;
    EXPECT_GT(p.tokens_per_second, 0);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(r->val_losses.size(), 3u);
  EXPECT_NE(r->init_summary.find("inherited"), std::string::npos) << r->init_summary;
  EXPECT_GT(r->metrics.val_loss(), 0.5);
  EXPECT_LT(r->metrics.val_loss(), 4.2);
  EXPECT_NEAR(r->metrics.perplexity(), std::exp(r->metrics.val_loss()),
              1e-6 * r->metrics.perplexity());
  EXPECT_GT(r->metrics.teacher_agreement(), 0.0);
  EXPECT_GT(r->metrics.latency_ms(), 0.0);
  EXPECT_GT(r->metrics.worker_seconds(), 0.0);

  auto tok = Tokenizer::Build(testing::Shakespeare(), TokenizerKind::kChar);
  const CostEstimate cost = EstimateCost(o.candidate, {tok->vocab_size(), tok->serialized_bytes()});
  EXPECT_EQ(r->metrics.size_bytes(), cost.size_bytes);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(r->packed_path)), cost.size_bytes);
  EXPECT_EQ(r->metrics.params(), cost.params);
  EXPECT_EQ(r->metrics.nonzero_params(), cost.nonzero_params);
  const std::string metrics = testing::ReadFile(r->metrics_path);
  EXPECT_NE(metrics.find("\"size_bytes\": " + std::to_string(cost.size_bytes)), std::string::npos)
      << metrics;
  // Its GPT-2 layers differ in heads and width, which llama.cpp's gpt2 cannot
  // run: no GGUF, and the reason (tests/e2e/e2e_test.sh pulls one that has).
  EXPECT_TRUE(r->gguf_path.empty());
  EXPECT_EQ(r->metrics.gguf_size_bytes(), 0);
  EXPECT_NE(r->gguf_unavailable.find("layers of one width"), std::string::npos)
      << r->gguf_unavailable;

  // The TorchScript student holds exactly the packed artifact's weights: each
  // packed tensor is a parameter of the script module ('.' -> '_', a dense
  // linear "x" is "x_weight") with the same values, and it has no others.
  auto packed = ReadPackedArtifact(r->packed_path);
  ASSERT_TRUE(packed.ok()) << packed.status().ToString();
  auto student = Teacher::Load(r->torchscript_path);
  ASSERT_TRUE(student.ok()) << student.status().ToString();
  std::map<std::string, torch::Tensor> params;
  for (const auto& p : student->module()->named_parameters(false)) params[p.name] = p.value;
  std::set<std::string> matched;
  for (const auto& t : packed->tensors) {
    std::string name = t.name;
    for (char& ch : name)
      if (ch == '.') ch = '_';
    if (!params.count(name)) name += "_weight";
    ASSERT_TRUE(params.count(name)) << t.name << " is not a parameter of " << r->torchscript_path;
    EXPECT_TRUE(torch::equal(params[name].reshape({t.rows, t.cols}), t.values)) << t.name;
    matched.insert(name);
  }
  EXPECT_EQ(matched.size(), params.size()) << "the TorchScript file has parameters the packed "
                                              "artifact does not";
  // And plain PyTorch loads it.
  auto py = testing::RunPython(
      "import sys, torch\nm = torch.jit.load(sys.argv[1])\n"
      "print(tuple(m(torch.zeros(1, 32, dtype=torch.long)).shape))\n",
      r->torchscript_path);
  EXPECT_EQ(py.exit_code, 0) << py.output;
  EXPECT_NE(py.output.find("(1, 32, 65)"), std::string::npos) << py.output;
}

TEST_F(RunCandidateTest, StopsAtAStepAndResumesFromTheCheckpoint) {
  RunOptions o = Options("resume");
  o.candidate = Compressed();
  o.candidate.distillation.init = Init::kScratch;
  o.checkpoint_path = dir_ + "/resume.ckpt";
  o.stop_at_step = 12;
  o.measure_latency = false;
  auto first = RunCandidate(o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->stopped);
  EXPECT_EQ(first->metrics.train_steps(), 12);
  EXPECT_FALSE(fs::exists(o.out_dir));  // no artifact for a stopped trial
  o.stop_at_step = 0;
  auto second = RunCandidate(o);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->stopped);
  EXPECT_EQ(second->metrics.train_steps(), 30);
  EXPECT_TRUE(fs::exists(o.out_dir + "/student.kdna"));
  EXPECT_FALSE(fs::exists(o.checkpoint_path));  // finished: removed
}

TEST_F(RunCandidateTest, CommandRunsEndToEndAndGenerates) {
  const std::string out = dir_ + "/cmd";
  testing::WriteFile(dir_ + "/c.json",
                     R"({"architecture": {"num_layers": 1, "d_model": 32, "num_heads": 2,
      "context_length": 32}, "compression": {"weight_bits": 8}})");
  auto r = Worker("run-candidate --quiet --candidate " + dir_ + "/c.json --teacher " + dir_ +
                      "/teacher.pt --out " + out + " --steps 20 --eval-tokens 1024 --threads 1",
                  dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out + "/student.kdna"));
  EXPECT_TRUE(fs::exists(out + "/student.pt"));
  EXPECT_TRUE(fs::exists(out + "/metrics.json"));
  auto g = Worker("generate --model " + out + "/student.pt --tokens 40 --prompt ROMEO:", dir_);
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(g.out.rfind("ROMEO:", 0), 0u) << g.out;
  EXPECT_GT(g.out.size(), 40u);
}

// The answer lines of run-candidates, parsed.
std::vector<google::protobuf::Struct> Answers(const std::string& out) {
  std::vector<google::protobuf::Struct> answers;
  std::stringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    google::protobuf::Struct s;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &s).ok()) << line;
    answers.push_back(s);
  }
  return answers;
}

double Field(const google::protobuf::Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? -1 : it->second.number_value();
}

TEST_F(RunCandidateTest, RunCandidatesKeepsTheJobAcrossTrialsAndMatchesRunCandidate) {
  const std::string small = R"({"architecture": {"num_layers": 1, "d_model": 32, "num_heads": 2,
      "context_length": 32}, "compression": {"weight_bits": 8}})";
  const std::string inherited = R"({"architecture": {"num_layers": 2, "d_model": 32,
      "num_heads": 2, "d_ff": 64, "context_length": 32}, "compression": {"weight_bits": 4},
      "distillation": {"init": "INIT_INHERIT"}})";
  auto one_line = [](std::string json) {
    std::replace(json.begin(), json.end(), '\n', ' ');
    return json;
  };
  const std::string many = dir_ + "/many";
  testing::WriteFile(dir_ + "/trials.jsonl",
                     R"({"candidate": )" + one_line(small) + R"(, "out": ")" + many +
                         R"(/1", "seed": 5})" + "\n" +
                         R"({"candidate": {"compression": {"weight_bits": 5}}, "out": ")" + many +
                         R"(/bad"})" + "\n" + R"({"candidate": )" + one_line(inherited) +
                         R"(, "out": ")" + many + R"(/2", "seed": 7})" + "\n");
  const std::string engine = " --quiet --teacher " + dir_ +
                             "/teacher.pt --steps 20 --eval-tokens 1024 --threads 1 "
                             "--no-latency --data-seed 3";
  auto r = Worker("run-candidates" + engine + " < " + dir_ + "/trials.jsonl", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto answers = Answers(r.out);
  ASSERT_EQ(answers.size(), 3u) << r.out;
  const auto& first = answers[0].fields();
  const auto& bad = answers[1].fields();
  const auto& second = answers[2].fields();
  ASSERT_TRUE(first.at("ok").bool_value()) << r.out;
  ASSERT_TRUE(second.at("ok").bool_value()) << r.out;
  EXPECT_EQ(Field(answers[2], "line"), 3);
  // A bad line gets its error and the process goes on.
  EXPECT_FALSE(bad.at("ok").bool_value());
  EXPECT_NE(bad.at("error").string_value().find("candidate.compression.weight_bits"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(many + "/bad"));
  // 20 steps of 12 windows: the first trial computes the teacher's outputs,
  // the second (another student, same batches) finds every one in the cache.
  EXPECT_GT(Field(answers[0], "teacher_cache_misses"), 0) << r.out;
  EXPECT_EQ(Field(answers[0], "teacher_cache_hits") + Field(answers[0], "teacher_cache_misses"),
            240)
      << r.out;
  EXPECT_EQ(Field(answers[2], "teacher_cache_misses"), 0) << r.out;
  EXPECT_EQ(Field(answers[2], "teacher_cache_hits"), 240) << r.out;
  EXPECT_GT(Field(answers[0], "worker_seconds"), 0);
  EXPECT_GT(Field(answers[2], "worker_seconds"), 0);
  EXPECT_TRUE(fs::exists(many + "/1/student.kdna"));
  EXPECT_TRUE(fs::exists(many + "/2/student.pt"));
  const auto& metrics = second.at("metrics").struct_value();
  EXPECT_NE(metrics.fields().at("init").string_value().find("inherited"), std::string::npos);

  // run-candidate in a process of its own gives the same student.
  testing::WriteFile(dir_ + "/inherited.json", inherited);
  auto single = Worker("run-candidate" + engine + " --seed 7 --candidate " + dir_ +
                           "/inherited.json --out " + dir_ + "/single",
                       dir_);
  ASSERT_EQ(single.exit_code, 0) << single.err;
  google::protobuf::Struct alone;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  testing::ReadFile(dir_ + "/single/metrics.json"), &alone)
                  .ok());
  for (const char* name : {"val_loss", "teacher_agreement", "train_loss", "size_bytes"}) {
    EXPECT_EQ(Field(alone, name), metrics.fields().at(name).number_value()) << name;
  }
}

// Module boundaries return a Status: LibTorch's exceptions never reach the
// lease loop, and whether a trial is retried follows one rule.
// The held-out teacher outputs are full up to the cache's full_vocab_limit
// and top-k above it; the teacher's agreement with any student is the same
// either way.
TEST_F(RunCandidateTest, HeldOutTeacherOutputsAreTopKAboveTheFullVocabularyLimit) {
  JobOptions full = Options("unused").job;
  JobOptions topk = full;
  topk.cache.full_vocab_limit = 0;
  topk.cache.top_k = 8;
  auto a = JobResources::Load(full);
  auto b = JobResources::Load(topk);
  ASSERT_TRUE(a.ok() && b.ok());
  auto ea = (*a)->Eval(32);
  auto eb = (*b)->Eval(32);
  ASSERT_TRUE(ea.ok() && eb.ok());
  ASSERT_TRUE((*ea)->teacher.full());
  ASSERT_FALSE((*eb)->teacher.full());
  EXPECT_EQ((*eb)->teacher.topk_index.size(-1), 8);
  EXPECT_FALSE((*eb)->teacher.logprobs.defined());
  torch::manual_seed(2);
  Gpt student(GptConfig{{1, 32, 2, 64, 32, false, {}}, {}, (*a)->teacher().vocab_size(), true});
  student->eval();
  LogitsFn fn = [&](const torch::Tensor& x) { return student->forward(x); };
  const QualityMetrics qa = EvaluateQuality(fn, (*ea)->x, (*ea)->y, (*ea)->teacher);
  const QualityMetrics qb = EvaluateQuality(fn, (*eb)->x, (*eb)->y, (*eb)->teacher);
  EXPECT_DOUBLE_EQ(qa.val_loss, qb.val_loss);
  EXPECT_DOUBLE_EQ(qa.teacher_agreement, qb.teacher_agreement);
  EXPECT_LE(qb.kl_to_teacher, qa.kl_to_teacher + 1e-3);
}

// With the job's held-out shard, a worker reads the teacher's outputs on the
// held-out windows instead of running the teacher: what the shard holds is
// what it uses, and a real teacher's shard holds what the worker would have
// computed (fp16 for the full vocabulary, bit for bit for the top-k).
TEST_F(RunCandidateTest, HeldOutTeacherOutputsComeFromTheJobsHeldOutShard) {
  for (const bool full : {true, false}) {
    SCOPED_TRACE(full ? "full" : "top-k");
    JobOptions job = Options("unused").job;
    if (!full) {
      job.cache.full_vocab_limit = 0;
      job.cache.top_k = 8;
    }
    auto computed = JobResources::Load(job);
    auto from_shard = JobResources::Load(job);
    auto from_uniform = JobResources::Load(job);
    ASSERT_TRUE(computed.ok() && from_shard.ok() && from_uniform.ok());
    JobResources& r = **from_shard;
    const int64_t V = r.teacher().vocab_size();
    const std::string shard_path = dir_ + "/held-out-" + (full ? "full" : "topk");
    const std::string uniform_path = shard_path + "-uniform";
    TeacherCache::LogitsFn teacher = [&](const torch::Tensor& x) { return r.TeacherLogits(x); };
    TeacherCache::LogitsFn uniform = [&](const torch::Tensor& x) -> StatusOr<torch::Tensor> {
      return torch::zeros({x.size(0), x.size(1), V});
    };
    ASSERT_TRUE(WriteHeldOutTeacherShard(32, job.eval_tokens, V, job.cache, r.corpus(), teacher,
                                         shard_path, nullptr)
                    .ok());
    ASSERT_TRUE(WriteHeldOutTeacherShard(32, job.eval_tokens, V, job.cache, r.corpus(), uniform,
                                         uniform_path, nullptr)
                    .ok());
    auto shard = TeacherShard::Open(shard_path);
    auto uniform_shard = TeacherShard::Open(uniform_path);
    ASSERT_TRUE(shard.ok() && uniform_shard.ok());
    EXPECT_TRUE((*shard)->spec().held_out);
    EXPECT_EQ((*shard)->spec().window, 32);
    EXPECT_EQ((*shard)->spec().batch_size, job.eval_tokens / 32);
    // Not a training step's targets, nor another context's held-out ones.
    TeacherShardSet set;
    EXPECT_EQ(set.Add(*shard).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(r.Eval(16, shard->get()).status().code(), StatusCode::kFailedPrecondition);

    auto expected = (*computed)->Eval(32);
    auto read = r.Eval(32, shard->get());
    auto read_uniform = (*from_uniform)->Eval(32, uniform_shard->get());
    ASSERT_TRUE(expected.ok() && read.ok() && read_uniform.ok()) << read.status().ToString();
    EXPECT_TRUE(torch::equal((*read)->x, (*expected)->x));
    const TeacherTargets& a = (*expected)->teacher;
    const TeacherTargets& b = (*read)->teacher;
    const TeacherTargets& u = (*read_uniform)->teacher;
    if (full) {
      EXPECT_LT((a.logprobs - b.logprobs).abs().max().item<float>(), 0.02);
      EXPECT_LT((u.logprobs + std::log(static_cast<double>(V))).abs().max().item<float>(), 0.01);
    } else {
      EXPECT_TRUE(torch::equal(a.topk_index, b.topk_index));
      EXPECT_TRUE(torch::equal(a.topk_logprobs, b.topk_logprobs));
      EXPECT_TRUE(torch::equal(a.rest_logprob, b.rest_logprob));
      EXPECT_LT((u.topk_logprobs + std::log(static_cast<double>(V))).abs().max().item<float>(),
                0.01);
    }
  }
}

TEST_F(RunCandidateTest, ErrorsComeBackAsStatusesNotExceptions) {
  Status thrown = CatchTorchErrors("stage", []() -> Status {
    TORCH_CHECK(false, "boom");
    return Status::Ok();
  });
  EXPECT_EQ(thrown.code(), StatusCode::kInternal);
  EXPECT_EQ(thrown.message(), "stage: boom");
  // A corpus whose held-out part is shorter than the teacher's context.
  const std::string small = dir_ + "/small.txt";
  testing::WriteFile(small, testing::Shakespeare().substr(0, 200));
  JobOptions job;
  job.teacher_path = dir_ + "/teacher.pt";
  job.data_path = small;
  job.eval_tokens = 64;
  auto rtn = RtnBaseline(job, {8}, 32);
  ASSERT_FALSE(rtn.ok());
  EXPECT_NE(rtn.status().message().find("too small"), std::string::npos) << rtn.status().message();
  EXPECT_FALSE(RetryableTrialFailure(rtn.status()));
  EXPECT_FALSE(RetryableTrialFailure(FailedPrecondition("cost model mismatch")));
  EXPECT_TRUE(RetryableTrialFailure(Internal("a LibTorch error")));
  EXPECT_TRUE(RetryableTrialFailure(Unavailable("the worker shut down")));
}

TEST_F(RunCandidateTest, BadInputGetsOneClearLineAndLeavesNothingBehind) {
  const std::string out = dir_ + "/bad";
  const std::string teacher = dir_ + "/teacher.pt";
  testing::WriteFile(dir_ + "/good.json",
                     R"({"architecture": {"num_layers": 1, "d_model": 32, "num_heads": 2,
      "context_length": 32}})");
  testing::WriteFile(dir_ + "/bits.json", R"({"compression": {"weight_bits": 5}})");
  testing::WriteFile(dir_ + "/broken.json", R"({"architecture": {"num_layers": )");
  testing::WriteFile(dir_ + "/long.json",
                     R"({"architecture": {"num_layers": 1, "d_model": 32, "num_heads": 2,
      "context_length": 64}})");
  testing::WriteFile(dir_ + "/corrupt.pt", "not a teacher");
  testing::WriteFile(dir_ + "/foreign.txt",
                     std::string(2000, 'a') + "日本語のテキスト" + std::string(2000, 'b'));
  testing::WriteFile(dir_ + "/empty.txt", "");
  const std::string base = " --quiet --no-latency --steps 5 --out " + out;
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"--candidate " + dir_ + "/bits.json --teacher " + teacher,
       "candidate.compression.weight_bits"},
      {"--candidate " + dir_ + "/broken.json --teacher " + teacher, "candidate: not valid JSON"},
      {"--candidate " + dir_ + "/missing.json --teacher " + teacher, "cannot open"},
      {"--candidate " + dir_ + "/good.json --teacher " + teacher + " --steps 0",
       "train_steps: must be > 0"},
      {"--candidate " + dir_ + "/good.json --teacher " + dir_ + "/missing.pt",
       "teacher: cannot open"},
      {"--candidate " + dir_ + "/good.json --teacher " + dir_ + "/corrupt.pt",
       "not a loadable TorchScript file"},
      {"--candidate " + dir_ + "/good.json --teacher " + teacher + " --data " + dir_ +
           "/foreign.txt",
       "cannot be encoded by the teacher's char tokenizer"},
      {"--candidate " + dir_ + "/good.json --teacher " + teacher + " --data " + dir_ + "/empty.txt",
       "is empty"},
      {"--candidate " + dir_ + "/long.json --teacher " + teacher,
       "exceeds the teacher's context length 32"},
      {"--candidate " + dir_ + "/good.json --teacher " + teacher + " --steps=abc", "--steps"},
      {"--candidate " + dir_ + "/good.json --teacher " + teacher + " --top-k 0",
       "--top-k: must be >= 1"},
      {"--candidate " + dir_ + "/good.json --teacher " + teacher +
           " --full-vocab-limit 0 --top-k 500",
       "top_k: must be in [1, "},
  };
  for (const auto& c : cases) {
    auto r = Worker("run-candidate" + base + " " + c.args, dir_);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("kdnas-worker run-candidate: ", 0), 0u) << r.err;
    EXPECT_FALSE(fs::exists(out)) << c.args;
  }
}

}  // namespace
}  // namespace kdnas
