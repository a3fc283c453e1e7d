#include "workers/rtn_baseline.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "evaluator/evaluate.h"
#include "search/cost_model.h"
#include "search/flags.h"
#include "search/search_space.h"
#include "workers/commands.h"
#include "workers/inherit.h"
#include "workers/torch_status.h"

namespace kdnas {

namespace {

StatusOr<std::vector<RtnPoint>> Quantize(const JobOptions& job_options,
                                         const std::vector<int>& bits, int group_size) {
  KDNAS_ASSIGN_OR_RETURN(auto job, JobResources::Load(job_options));
  KDNAS_ASSIGN_OR_RETURN(GptImpl * teacher, job->TeacherModel());
  const Architecture arch = teacher->config().architecture;
  KDNAS_RETURN_IF_ERROR(job->corpus().CheckContext(arch.context_length));
  KDNAS_ASSIGN_OR_RETURN(const JobResources::EvalSet* eval, job->Eval(arch.context_length));
  const JobTokenizer& tokenizer = job->corpus().tokenizer();
  const int V = tokenizer.vocab_size();
  std::vector<RtnPoint> points;
  for (int b : bits) {
    Candidate c;
    c.architecture = arch;
    c.compression.weight_bits = b;
    c.compression.embedding_bits = b;
    c.compression.group_size = group_size;
    KDNAS_RETURN_IF_ERROR(ValidateCandidate(c, "baseline"));
    Gpt model(GptConfig{c.architecture, c.compression, V, true});
    // The same shape as the teacher: inheriting copies every weight.
    Batch calib =
        MakeBatch(job->corpus().train_tokens(),
                  BatchStarts(1, 0, 4, job->corpus().train_tokens().numel(), arch.context_length),
                  arch.context_length, job->corpus().bos());
    std::string summary;
    KDNAS_RETURN_IF_ERROR(InheritFromTeacher(*model, *teacher, calib.x, &summary));
    model->Deploy();  // round to nearest, per group, fp16 scales
    LogitsFn fn = [&](const torch::Tensor& x) { return model->forward(x); };
    QualityMetrics q = EvaluateQuality(fn, eval->x, eval->y, eval->teacher);
    RtnPoint p;
    p.bits = b;
    p.group_size = group_size;
    p.size_bytes = EstimateCost(c, {V, tokenizer.serialized_bytes()}).size_bytes;
    p.val_loss = q.val_loss;
    points.push_back(p);
  }
  return points;
}

}  // namespace

StatusOr<std::vector<RtnPoint>> RtnBaseline(const JobOptions& job, const std::vector<int>& bits,
                                            int group_size) {
  return CatchTorchErrors("baseline-rtn", [&] { return Quantize(job, bits, group_size); });
}

int RtnBaselineCommand(const std::vector<std::string>& args) {
  JobOptions job;
  job.data_path = "data/tinyshakespeare.txt";
  std::string bits_text = "16,8,4,3,2";
  int group = 32;
  int threads = 0;
  FlagSet flags(
      "kdnas-worker baseline-rtn --teacher t.pt [flags]: post-training round-to-nearest "
      "quantization of\n"
      "the teacher (weights and embeddings at each bit width, no training), with its packed size "
      "and\n"
      "validation loss: the points a search's frontier should beat.");
  flags.String("teacher", &job.teacher_path,
               "TorchScript teacher written by kdnas-worker train-teacher.");
  flags.String("data", &job.data_path, "UTF-8 text corpus.");
  flags.Int("eval-tokens", &job.eval_tokens, "Held-out tokens for the validation loss.");
  flags.String("bits", &bits_text, "Comma-separated bit widths (16 = fp16).");
  flags.Int("group", &group, "Weights per quantization group (-1 per channel).");
  flags.Int("threads", &threads, "LibTorch threads (0 = all cores).");
  if (int rc = ParseCommandFlags(flags, args, "baseline-rtn"); rc >= 0) return rc;
  if (threads > 0) torch::set_num_threads(threads);
  std::vector<int> bits;
  std::stringstream in(bits_text);
  for (std::string b; std::getline(in, b, ',');) bits.push_back(std::atoi(b.c_str()));
  auto points = RtnBaseline(job, bits, group);
  if (!points.ok()) {
    std::fprintf(stderr, "kdnas-worker baseline-rtn: %s\n", points.status().message().c_str());
    return 1;
  }
  std::printf("%-6s %-6s %12s %10s\n", "bits", "group", "size_bytes", "val_loss");
  auto json = nlohmann::ordered_json::array();
  for (const RtnPoint& p : *points) {
    std::printf("%-6d %-6d %12lld %10.4f\n", p.bits, p.group_size,
                static_cast<long long>(p.size_bytes), p.val_loss);
    json.push_back({{"bits", p.bits},
                    {"group_size", p.group_size},
                    {"size_bytes", p.size_bytes},
                    {"val_loss", p.val_loss}});
  }
  std::printf("%s\n", json.dump().c_str());
  return 0;
}

}  // namespace kdnas
