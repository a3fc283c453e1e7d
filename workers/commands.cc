#include "workers/commands.h"

#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "proto/candidate_json.h"
#include "search/flags.h"
#include "workers/generate.h"
#include "workers/run_candidate.h"
#include "workers/train_teacher.h"

namespace kdnas {
namespace {

// One line: newlines and runs of spaces in the message become single spaces.
std::string OneLine(const std::string& message) {
  std::string out;
  for (char c : message) {
    const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

int Fail(const char* name, const Status& s) {
  std::fprintf(stderr, "kdnas-worker %s: %s\n", name, OneLine(s.message()).c_str());
  return 1;
}

// Parses flags; returns -1 to continue, else the exit code.
int ParseFlags(FlagSet& flags, const std::vector<std::string>& args, const char* name) {
  if (auto s = flags.Parse(args); !s.ok()) {
    std::fprintf(stderr, "kdnas-worker %s: %s\n", name, OneLine(s.message()).c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  return -1;
}

StatusOr<std::vector<int64_t>> ParseSteps(const std::string& text, const std::string& flag) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    try {
      size_t used = 0;
      long long v = std::stoll(item, &used);
      if (used != item.size() || v <= 0) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      return InvalidArgument("--" + flag + ": '" + item + "' is not a positive step number");
    }
  }
  return out;
}

StatusOr<TokenizerKind> ParseKind(const std::string& s) {
  if (s == "char") return TokenizerKind::kChar;
  if (s == "byte") return TokenizerKind::kByte;
  return InvalidArgument("--tokenizer: must be char or byte, got '" + s + "'");
}

ProgressCallback PrintProgress(bool quiet) {
  return [quiet](const TrainingProgress& p) {
    if (quiet) return true;
    if (p.val_step == p.step && p.val_step > 0) {
      std::fprintf(stderr, "step %lld/%lld  train %.4f  val %.4f  %.0f tok/s\n",
                   static_cast<long long>(p.step), static_cast<long long>(p.total_steps),
                   p.train_loss, p.val_loss, p.tokens_per_second);
    } else {
      std::fprintf(stderr, "step %lld/%lld  train %.4f  %.0f tok/s\n",
                   static_cast<long long>(p.step), static_cast<long long>(p.total_steps),
                   p.train_loss, p.tokens_per_second);
    }
    return true;
  };
}

}  // namespace

int TrainTeacherCommand(const std::vector<std::string>& args) {
  TeacherTrainingOptions o;
  o.data_path = "data/tinyshakespeare.txt";
  std::string kind = "char";
  bool quiet = false;
  o.architecture.d_ff = 0;
  FlagSet flags(
      "kdnas-worker train-teacher --out teacher.pt [flags]: train a GPT teacher and save it as "
      "TorchScript\n"
      "(tokenizer and architecture embedded as extra files kdnas/tokenizer.bin, "
      "kdnas/architecture.json).");
  flags.String("data", &o.data_path, "UTF-8 text corpus.");
  flags.String("out", &o.out_path, "TorchScript file to write.");
  flags.String("tokenizer", &kind, "char (one token per code point in the corpus) or byte.");
  flags.Int("layers", &o.architecture.num_layers, "Transformer blocks.");
  flags.Int("d-model", &o.architecture.d_model, "Residual width.");
  flags.Int("heads", &o.architecture.num_heads, "Attention heads.");
  flags.Int("d-ff", &o.architecture.d_ff, "MLP width (0 = 4 * d-model).");
  flags.Int("context", &o.architecture.context_length, "Context length in tokens.");
  flags.Int("steps", &o.steps, "Optimizer steps.");
  flags.Int("batch", &o.batch_size, "Sequences per step.");
  flags.Double("lr", &o.learning_rate, "Peak AdamW learning rate.");
  flags.Double("validation-fraction", &o.validation_fraction,
               "Held-out fraction of the tokens (the end).");
  flags.Int("eval-tokens", &o.eval_tokens, "Held-out tokens for the validation loss.");
  int64_t seed = 1;
  flags.Int("seed", &seed, "Initialisation and batch seed.");
  flags.Int("threads", &o.threads, "LibTorch threads (0 = all cores).");
  flags.Bool("quiet", &quiet, "No progress lines.");
  if (int rc = ParseFlags(flags, args, "train-teacher"); rc >= 0) return rc;
  o.seed = static_cast<uint64_t>(seed);
  if (o.architecture.d_ff == 0) o.architecture.d_ff = 4 * o.architecture.d_model;
  if (o.threads == 0)
    o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto k = ParseKind(kind);
  if (!k.ok()) return Fail("train-teacher", k.status());
  o.tokenizer_kind = *k;
  auto r = TrainTeacher(o, PrintProgress(quiet));
  if (!r.ok()) return Fail("train-teacher", r.status());
  std::printf("teacher %s: %lld params, vocab %d, val_loss %.4f, train %.1f s\n",
              o.out_path.c_str(), static_cast<long long>(r->params), r->vocab_size, r->val_loss,
              r->train_seconds);
  return 0;
}

int RunCandidateCommand(const std::vector<std::string>& args) {
  RunOptions o;
  std::string candidate_path, report_steps;
  int64_t seed = 1, data_seed = 1;
  bool quiet = false, no_latency = false;
  o.job.data_path = "data/tinyshakespeare.txt";
  FlagSet flags(
      "kdnas-worker run-candidate --candidate c.json --teacher t.pt --out DIR [flags]: distill, "
      "compress,\n"
      "evaluate and export one student (DIR/student.kdna, DIR/student.pt, DIR/metrics.json).\n"
      "The candidate file is the JSON mapping of kdnas.v1.Candidate; unset fields take the proto's "
      "defaults.");
  flags.String("candidate", &candidate_path, "Candidate JSON file.");
  flags.String("teacher", &o.job.teacher_path,
               "TorchScript teacher ([B,T] int64 -> [B,T,V] logits).");
  flags.String("teacher-tokenizer", &o.job.teacher_tokenizer_path,
               "Tokenizer file of a teacher whose archive has no kdnas/tokenizer.bin.");
  flags.String("data", &o.job.data_path, "UTF-8 text corpus.");
  flags.String("out", &o.out_dir, "Output directory.");
  flags.Int("steps", &o.train_steps, "Optimizer steps.");
  flags.Int("batch", &o.batch_size, "Sequences per step.");
  flags.Double("lr", &o.learning_rate, "Peak AdamW learning rate.");
  flags.Double("validation-fraction", &o.job.validation_fraction,
               "Held-out fraction of the tokens (the end).");
  flags.Int("eval-tokens", &o.job.eval_tokens, "Held-out tokens for the validation loss.");
  flags.Int("seed", &seed, "Student initialisation seed.");
  flags.Int("data-seed", &data_seed,
            "Batch seed (keep it per job: the teacher cache is keyed by batch).");
  flags.String("report-steps", &report_steps,
               "Comma-separated steps with an intermediate validation loss.");
  flags.Int("stop-at-step", &o.stop_at_step,
            "Stop after this step (with --checkpoint: resume later).");
  flags.String("checkpoint", &o.checkpoint_path,
               "Checkpoint file: written when stopping, resumed when present.");
  flags.Int("checkpoint-every", &o.checkpoint_every_steps,
            "Also checkpoint every N steps (0 = only when stopping).");
  flags.Int("threads", &o.threads, "LibTorch threads (0 = all cores).");
  flags.Bool("no-latency", &no_latency, "Skip the latency measurement.");
  flags.Bool("quiet", &quiet, "No progress lines.");
  if (int rc = ParseFlags(flags, args, "run-candidate"); rc >= 0) return rc;
  o.seed = static_cast<uint64_t>(seed);
  o.data_seed = static_cast<uint64_t>(data_seed);
  o.measure_latency = !no_latency;
  if (o.threads == 0)
    o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (candidate_path.empty())
    return Fail("run-candidate", InvalidArgument("--candidate: a candidate JSON file is required"));
  if (o.out_dir.empty())
    return Fail("run-candidate", InvalidArgument("--out: an output directory is required"));
  std::ifstream in(candidate_path);
  if (!in)
    return Fail("run-candidate", NotFound("--candidate: cannot open '" + candidate_path + "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto candidate = CandidateFromJson(ss.str());
  if (!candidate.ok()) return Fail("run-candidate", candidate.status());
  o.candidate = *candidate;
  auto steps = ParseSteps(report_steps, "report-steps");
  if (!steps.ok()) return Fail("run-candidate", steps.status());
  o.report_steps = *steps;
  auto r = RunCandidate(o, PrintProgress(quiet));
  if (!r.ok()) return Fail("run-candidate", r.status());
  const v1::TrialMetrics& m = r->metrics;
  if (r->stopped) {
    std::printf("stopped at step %lld: train_loss %.4f\n", static_cast<long long>(m.train_steps()),
                m.train_loss());
    return 0;
  }
  std::printf("val_loss %.4f  ppl %.2f  agreement %.3f  kl %.4f  size %lld B  params %lld  %s\n",
              m.val_loss(), m.perplexity(), m.teacher_agreement(), m.kl_to_teacher(),
              static_cast<long long>(m.size_bytes()), static_cast<long long>(m.params()),
              m.has_latency_ms()
                  ? ("latency " + std::to_string(m.latency_ms()) + " ms/token").c_str()
                  : "latency not measured");
  std::printf("wrote %s, %s, %s\n", r->packed_path.c_str(), r->torchscript_path.c_str(),
              r->metrics_path.c_str());
  return 0;
}

int GenerateCommand(const std::vector<std::string>& args) {
  std::string model_path, tokenizer_path;
  GenerateOptions g;
  int64_t seed = 1;
  FlagSet flags(
      "kdnas-worker generate --model student.pt [flags]: sample text from a TorchScript model.");
  flags.String("model", &model_path, "TorchScript model (kdnas teacher or student).");
  flags.String("tokenizer", &tokenizer_path,
               "Tokenizer file, for a model without kdnas/tokenizer.bin.");
  flags.String("prompt", &g.prompt, "Text to continue.");
  flags.Int("tokens", &g.tokens, "Tokens to generate.");
  flags.Double("temperature", &g.temperature, "Sampling temperature (0 = greedy).");
  flags.Int("top-k", &g.top_k, "Sample among the k most likely tokens (0 = all).");
  flags.Int("context", &g.context, "Context length (0 = the model's).");
  flags.Int("seed", &seed, "Sampling seed.");
  if (int rc = ParseFlags(flags, args, "generate"); rc >= 0) return rc;
  g.seed = static_cast<uint64_t>(seed);
  if (model_path.empty())
    return Fail("generate", InvalidArgument("--model: a TorchScript file is required"));
  auto model = Teacher::Load(model_path, tokenizer_path);
  if (!model.ok()) return Fail("generate", model.status());
  try {
    auto text = Generate(*model, g);
    if (!text.ok()) return Fail("generate", text.status());
    std::printf("%s\n", text->c_str());
  } catch (const std::exception& e) {
    return Fail("generate", Internal(e.what()));
  }
  return 0;
}

}  // namespace kdnas
