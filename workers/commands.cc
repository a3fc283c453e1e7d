#include "workers/commands.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "log/log_flags.h"
#include "proto/candidate_json.h"
#include "search/flags.h"
#include "workers/generate.h"
#include "workers/inherit.h"
#include "workers/run_candidate.h"
#include "workers/torch_log.h"
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

// The flags run-candidate and run-candidates share: the job and how each
// candidate is trained.
struct EngineFlags {
  int64_t seed = 1, data_seed = 1;
  std::string report_steps;
  std::string latency = "torch";
  bool quiet = false, no_latency = false;
};

void AddEngineFlags(FlagSet& flags, RunOptions& o, EngineFlags& e) {
  o.job.data_path = "data/tinyshakespeare.txt";
  flags.String("teacher", &o.job.teacher_path,
               "TorchScript teacher ([B,T] int64 -> [B,T,V] logits).");
  flags.String("teacher-tokenizer", &o.job.teacher_tokenizer_path,
               "Tokenizer file of a teacher whose archive has no kdnas/tokenizer.bin.");
  flags.String("teacher-hf", &o.job.hf_teacher_dir,
               "Hugging Face checkpoint directory as the teacher (instead of --teacher): "
               "config.json, safetensors weights and the tokenizer's files.");
  flags.String("data", &o.job.data_path, "UTF-8 text corpus.");
  flags.Int("steps", &o.train_steps, "Optimizer steps.");
  flags.Int("batch", &o.batch_size, "Sequences per step.");
  flags.Double("lr", &o.learning_rate, "Peak AdamW learning rate.");
  flags.Double("validation-fraction", &o.job.validation_fraction,
               "Held-out fraction of the tokens (the end).");
  flags.Int("eval-tokens", &o.job.eval_tokens, "Held-out tokens for the validation loss.");
  flags.Int("window-length", &o.job.window_length,
            "Training windows' length (0 = the candidate's context_length); the student trains "
            "on each window's first context_length tokens, so candidates of every context share "
            "the teacher cache (a job's is its largest context_length).");
  flags.Int("top-k", &o.job.cache.top_k,
            "Teacher log-probabilities kept per token (with the log of the rest's mass) for "
            "vocabularies over --full-vocab-limit.");
  flags.Int("full-vocab-limit", &o.job.cache.full_vocab_limit,
            "Vocabularies up to this size keep the teacher's full log-probabilities (fp16); "
            "larger ones keep the top-k.");
  flags.Int("seed", &e.seed, "Student initialisation seed.");
  flags.Int("data-seed", &e.data_seed,
            "Batch seed (keep it per job: the teacher cache is keyed by batch).");
  flags.String("report-steps", &e.report_steps,
               "Comma-separated steps with an intermediate validation loss.");
  flags.Int("threads", &o.threads, "LibTorch threads (0 = all cores).");
  flags.Bool("no-latency", &e.no_latency, "Skip the latency measurement.");
  flags.String("latency", &e.latency,
               "How latency is measured (docs/metrics.md): torch (LibTorch on the deployed "
               "student) or llama.cpp (the student's GGUF file, and the teacher's for speedup "
               "and compression_ratio).");
  flags.Bool("quiet", &e.quiet, "No progress lines.");
}

Status ApplyEngineFlags(const EngineFlags& e, RunOptions& o) {
  if (o.job.cache.top_k < 1) return InvalidArgument("--top-k: must be >= 1");
  if (o.job.cache.full_vocab_limit < 0) return InvalidArgument("--full-vocab-limit: must be >= 0");
  o.seed = static_cast<uint64_t>(e.seed);
  o.data_seed = static_cast<uint64_t>(e.data_seed);
  o.measure_latency = !e.no_latency;
  if (e.latency == "llama.cpp") {
    o.latency_method = LatencyMethod::kLlamaCpp;
  } else if (e.latency == "torch") {
    o.latency_method = LatencyMethod::kTorch;
  } else {
    return InvalidArgument("--latency: '" + e.latency + "' is not torch or llama.cpp");
  }
  if (o.threads == 0)
    o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  KDNAS_ASSIGN_OR_RETURN(o.report_steps, ParseSteps(e.report_steps, "report-steps"));
  return Status::Ok();
}

// A non-negative integer field of a run-candidates line.
StatusOr<int64_t> LineInteger(const google::protobuf::Value& v, const std::string& field) {
  const double x = v.number_value();
  if (v.kind_case() != google::protobuf::Value::kNumberValue || x < 0 || x > 9.0e15 ||
      x != std::floor(x)) {
    return InvalidArgument(field + ": must be a non-negative integer");
  }
  return static_cast<int64_t>(x);
}

// One line of run-candidates: `base` with the line's candidate, out, seed, steps.
StatusOr<RunOptions> ParseTrialLine(const std::string& line, const RunOptions& base) {
  google::protobuf::Struct fields;
  if (!google::protobuf::util::JsonStringToMessage(line, &fields).ok())
    return InvalidArgument("not a JSON object");
  RunOptions o = base;
  bool has_candidate = false;
  for (const auto& [name, value] : fields.fields()) {
    if (name == "candidate") {
      std::string json;
      (void)google::protobuf::util::MessageToJsonString(value, &json);
      KDNAS_ASSIGN_OR_RETURN(o.candidate, CandidateFromJson(json));
      has_candidate = true;
    } else if (name == "out") {
      o.out_dir = value.string_value();
    } else if (name == "seed") {
      KDNAS_ASSIGN_OR_RETURN(int64_t seed, LineInteger(value, "seed"));
      o.seed = static_cast<uint64_t>(seed);
    } else if (name == "steps") {
      KDNAS_ASSIGN_OR_RETURN(o.train_steps, LineInteger(value, "steps"));
    } else {
      return InvalidArgument("unknown field '" + name + "' (candidate, out, seed, steps)");
    }
  }
  if (!has_candidate) return InvalidArgument("candidate: required");
  if (o.out_dir.empty()) return InvalidArgument("out: an output directory is required");
  return o;
}

// Runs one line of run-candidates with the process's job resources (loaded on
// the first use, kept after) and returns its answer line.
std::string RunTrialLine(const std::string& line, int64_t n, const RunOptions& base,
                         const ProgressCallback& progress, std::shared_ptr<JobResources>& job) {
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  google::protobuf::Struct answer;
  auto& out = *answer.mutable_fields();
  out["line"].set_number_value(static_cast<double>(n));
  auto text = [&] {
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(answer, &json);
    return json;
  };
  auto fail = [&](const Status& s) {
    out["ok"].set_bool_value(false);
    out["error"].set_string_value(OneLine(s.message()));
    out["worker_seconds"].set_number_value(seconds());
    return text();
  };
  auto o = ParseTrialLine(line, base);
  if (!o.ok()) return fail(o.status());
  if (!job) {
    auto loaded = JobResources::Load(base.job);
    if (!loaded.ok()) return fail(loaded.status());
    job = *loaded;
  }
  o->resources = job;
  o->started = start;  // the first trial's worker-seconds include loading the job
  const int64_t hits = job->cache().hits(), misses = job->cache().misses();
  auto r = RunCandidate(*o, progress);
  if (!r.ok()) return fail(r.status());
  google::protobuf::Struct metrics;
  if (!google::protobuf::util::JsonStringToMessage(TrialReportJson(*r, o->candidate), &metrics)
           .ok())
    return fail(Internal("metrics are not valid JSON"));
  out["ok"].set_bool_value(true);
  out["worker_seconds"].set_number_value(r->metrics.worker_seconds());
  out["teacher_cache_hits"].set_number_value(static_cast<double>(job->cache().hits() - hits));
  out["teacher_cache_misses"].set_number_value(static_cast<double>(job->cache().misses() - misses));
  *out["metrics"].mutable_struct_value() = metrics;
  return text();
}

}  // namespace

int FailCommand(const char* name, const Status& s) {
  std::fprintf(stderr, "kdnas-worker %s: %s\n", name, OneLine(s.message()).c_str());
  return 1;
}

int ParseCommandFlags(FlagSet& flags, const std::vector<std::string>& args, const char* name) {
  // The two flags are set only by this Parse: log_flags may go after it.
  LogFlags log_flags(flags);
  Status s = flags.Parse(args);
  if (s.ok() && flags.help_requested()) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  if (s.ok()) s = log_flags.Apply();
  if (!s.ok()) {
    std::fprintf(stderr, "kdnas-worker %s: %s\n", name, OneLine(s.message()).c_str());
    return 2;
  }
  RouteTorchWarnings();
  return -1;
}

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
  std::string family = "gpt2";
  flags.String("family", &family,
               "Block family: gpt2 (LayerNorm, learned positions, GELU), llama (RMSNorm, rotary "
               "positions, SwiGLU, grouped-query attention) or qwen2 (llama with q/k/v biases).");
  flags.Int("kv-heads", &o.architecture.num_kv_heads,
            "Key/value heads of the llama and qwen2 families (0 = heads).");
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
  if (int rc = ParseCommandFlags(flags, args, "train-teacher"); rc >= 0) return rc;
  o.seed = static_cast<uint64_t>(seed);
  if (o.architecture.d_ff == 0) o.architecture.d_ff = 4 * o.architecture.d_model;
  bool known_family = false;
  for (FamilyKind f : {FamilyKind::kGpt2, FamilyKind::kLlama, FamilyKind::kQwen2}) {
    if (family == FamilyKindName(f)) {
      o.architecture.family.kind = f;
      known_family = true;
    }
  }
  if (!known_family) {
    return FailCommand("train-teacher",
                       InvalidArgument("--family: '" + family + "' is not gpt2, llama or qwen2"));
  }
  if (o.threads == 0)
    o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto k = ParseKind(kind);
  if (!k.ok()) return FailCommand("train-teacher", k.status());
  o.tokenizer_kind = *k;
  auto r = TrainTeacher(o, PrintProgress(quiet));
  if (!r.ok()) return FailCommand("train-teacher", r.status());
  std::printf("teacher %s: %lld params, vocab %d, val_loss %.4f, train %.1f s\n",
              o.out_path.c_str(), static_cast<long long>(r->params), r->vocab_size, r->val_loss,
              r->train_seconds);
  return 0;
}

int RunCandidateCommand(const std::vector<std::string>& args) {
  RunOptions o;
  EngineFlags e;
  std::string candidate_path;
  FlagSet flags(
      "kdnas-worker run-candidate --candidate c.json --teacher t.pt --out DIR [flags]: distill, "
      "compress,\n"
      "evaluate and export one student (DIR/student.kdna, DIR/student.pt, DIR/metrics.json).\n"
      "The candidate file is the JSON mapping of kdnas.v1.Candidate; unset fields take the proto's "
      "defaults.");
  flags.String("candidate", &candidate_path, "Candidate JSON file.");
  flags.String("out", &o.out_dir, "Output directory.");
  AddEngineFlags(flags, o, e);
  flags.Int("stop-at-step", &o.stop_at_step,
            "Stop after this step (with --checkpoint: resume later).");
  flags.String("checkpoint", &o.checkpoint_path,
               "Checkpoint file: written when stopping, resumed when present.");
  flags.Int("checkpoint-every", &o.checkpoint_every_steps,
            "Also checkpoint every N steps (0 = only when stopping).");
  if (int rc = ParseCommandFlags(flags, args, "run-candidate"); rc >= 0) return rc;
  if (auto s = ApplyEngineFlags(e, o); !s.ok()) return FailCommand("run-candidate", s);
  if (candidate_path.empty())
    return FailCommand("run-candidate",
                       InvalidArgument("--candidate: a candidate JSON file is required"));
  if (o.out_dir.empty())
    return FailCommand("run-candidate", InvalidArgument("--out: an output directory is required"));
  std::ifstream in(candidate_path);
  if (!in)
    return FailCommand("run-candidate",
                       NotFound("--candidate: cannot open '" + candidate_path + "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto candidate = CandidateFromJson(ss.str());
  if (!candidate.ok()) return FailCommand("run-candidate", candidate.status());
  o.candidate = *candidate;
  auto r = RunCandidate(o, PrintProgress(e.quiet));
  if (!r.ok()) return FailCommand("run-candidate", r.status());
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

int RunCandidatesCommand(const std::vector<std::string>& args) {
  RunOptions base;
  EngineFlags e;
  FlagSet flags(
      "kdnas-worker run-candidates --teacher t.pt [flags] < trials.jsonl: run-candidate for one "
      "trial per line\n"
      "of stdin in one process that loads the teacher, corpus, held-out set and teacher-output "
      "cache once\n"
      "(with the first trial) and keeps them, as a serve worker does for the trials of a job. A "
      "line is\n"
      "  {\"candidate\": {kdnas.v1.Candidate JSON}, \"out\": \"DIR\", \"seed\": N, \"steps\": N}"
      "  (seed and steps default to the flags)\n"
      "and each gets one JSON line on stdout, in order:\n"
      "  {\"line\": N, \"ok\": true, \"worker_seconds\": S, \"teacher_cache_hits\": H, "
      "\"teacher_cache_misses\": M, \"metrics\": {metrics.json}}\n"
      "  {\"line\": N, \"ok\": false, \"error\": \"...\"}\n"
      "worker_seconds runs from reading the line to the answer (the first includes loading the "
      "job, as serve\n"
      "counts it); the cache figures are this trial's teacher windows found and computed. Exits 0 "
      "at the end\n"
      "of stdin. Keep --data-seed fixed so every trial draws the same batches and the cache hits.");
  AddEngineFlags(flags, base, e);
  if (int rc = ParseCommandFlags(flags, args, "run-candidates"); rc >= 0) return rc;
  if (auto s = ApplyEngineFlags(e, base); !s.ok()) return FailCommand("run-candidates", s);
  std::shared_ptr<JobResources> job;
  std::string line;
  for (int64_t n = 1; std::getline(std::cin, line); ++n) {
    std::printf("%s\n", RunTrialLine(line, n, base, PrintProgress(e.quiet), job).c_str());
    std::fflush(stdout);
  }
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
  if (int rc = ParseCommandFlags(flags, args, "generate"); rc >= 0) return rc;
  g.seed = static_cast<uint64_t>(seed);
  if (model_path.empty())
    return FailCommand("generate", InvalidArgument("--model: a TorchScript file is required"));
  auto model = Teacher::Load(model_path, tokenizer_path);
  if (!model.ok()) return FailCommand("generate", model.status());
  try {
    auto text = Generate(*model, g);
    if (!text.ok()) return FailCommand("generate", text.status());
    std::printf("%s\n", text->c_str());
  } catch (const std::exception& e) {
    return FailCommand("generate", Internal(e.what()));
  }
  return 0;
}

}  // namespace kdnas
