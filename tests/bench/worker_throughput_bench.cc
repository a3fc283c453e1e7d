// The worker_throughput benchmark driver: distills several students from one
// teacher over the same batches in kdnas (with the job-wide teacher-output
// cache, built once; its time counts) and, step chunk by step chunk in
// alternation, in the PyTorch peer (worker_throughput_torch.py, a standard
// eager KD loop) from the same initial weights on the same batches, so both
// meet the same background load. Prints one JSON object on stdout.
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "evaluator/blas_probe.h"
#include "evaluator/evaluate.h"
#include "search/cost_model.h"
#include "search/flags.h"
#include "tests/bench/python_peer.h"
#include "workers/distill.h"
#include "workers/run_candidate.h"
#include "workers/torchscript_export.h"

namespace {

using namespace kdnas;

struct Student {
  std::string name, category;
  Architecture arch;
  double temperature, alpha;
};

std::vector<Student> Students() {
  auto arch = [](int layers, int d, int heads, int ff) {
    Architecture a;
    a.num_layers = layers;
    a.d_model = d;
    a.num_heads = heads;
    a.d_ff = ff;
    a.context_length = 64;
    return a;
  };
  return {
      {"small-a", "small", arch(2, 64, 4, 256), 2.0, 0.5},
      {"small-b", "small", arch(2, 64, 2, 192), 1.0, 0.7},
      {"small-c", "small", arch(2, 64, 4, 128), 4.0, 0.3},
      {"teacher-sized-a", "teacher_sized", arch(4, 128, 4, 512), 2.0, 0.5},
      {"teacher-sized-b", "teacher_sized", arch(4, 128, 8, 384), 1.0, 0.7},
      {"teacher-sized-c", "teacher_sized", arch(4, 128, 4, 512), 4.0, 0.3},
  };
}

template <typename T>
double Median(std::vector<T> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return static_cast<double>(v[v.size() / 2]);
}

int Main(int argc, char** argv) {
  std::string teacher_path, data_path = "data/tinyshakespeare.txt", out_dir;
  int64_t steps = 200, eval_tokens = 16384;
  int threads = 2, batch = 12;
  std::string only, peer_script = "tests/bench/worker_throughput_torch.py";
  int64_t chunk = 10;
  FlagSet flags("worker_throughput_bench --teacher t.pt --out DIR [flags]");
  flags.String("teacher", &teacher_path, "TorchScript teacher.");
  flags.String("data", &data_path, "Corpus.");
  flags.String("out", &out_dir, "Directory for the files the PyTorch peer reads.");
  flags.Int("steps", &steps, "Optimizer steps per student.");
  flags.Int("threads", &threads, "Intra-op threads.");
  flags.Int("batch", &batch, "Sequences per step.");
  flags.Int("eval-tokens", &eval_tokens, "Held-out tokens.");
  flags.String("only", &only, "Run only students whose name contains this.");
  flags.String("peer", &peer_script, "The PyTorch peer script (\"\" = kdnas only).");
  flags.Int("chunk", &chunk, "Steps each side runs before the other takes its turn.");
  if (auto s = flags.Parse(argc, argv); !s.ok() || flags.help_requested()) {
    std::fprintf(stderr, "%s\n%s", s.message().c_str(), flags.Help().c_str());
    return 2;
  }
  torch::set_num_threads(threads);
  JobOptions jo;
  jo.teacher_path = teacher_path;
  jo.data_path = data_path;
  jo.eval_tokens = eval_tokens;
  auto job_or = JobResources::Load(jo);
  if (!job_or.ok()) {
    std::fprintf(stderr, "%s\n", job_or.status().ToString().c_str());
    return 1;
  }
  auto job = *job_or;
  const int C = 64;
  const auto& train = job->corpus().train_tokens();
  const uint64_t data_seed = 1;
  const double peak = MeasureMatmulGflops(512, 5);

  // Files for the peer: tokens, batches, eval windows.
  WriteRaw(out_dir + "/train_tokens.bin", train);
  WriteRaw(out_dir + "/val_tokens.bin", job->corpus().val_tokens());
  std::vector<int64_t> all_starts;
  for (int64_t s = 0; s < steps; ++s) {
    auto st = BatchStarts(data_seed, s, batch, train.numel(), C);
    all_starts.insert(all_starts.end(), st.begin(), st.end());
  }
  WriteRaw(out_dir + "/batch_starts.bin", torch::tensor(all_starts, torch::kInt64));
  auto eval_starts = EvalStarts(job->corpus().val_tokens().numel(), C, eval_tokens);
  WriteRaw(out_dir + "/eval_starts.bin", torch::tensor(eval_starts, torch::kInt64));
  Batch eval = MakeBatch(job->corpus().val_tokens(), eval_starts, C, job->corpus().bos());

  // One-off: the teacher-output cache for every batch of the run, in chunks
  // of 4 steps per teacher call.
  auto t_cache = std::chrono::steady_clock::now();
  auto teacher_fn = [&](const torch::Tensor& x) { return job->TeacherLogits(x); };
  for (int64_t s = 0; s < steps; s += 4) {
    std::vector<int64_t> starts;
    for (int64_t k = s; k < std::min(steps, s + 4); ++k) {
      auto st = BatchStarts(data_seed, k, batch, train.numel(), C);
      starts.insert(starts.end(), st.begin(), st.end());
    }
    Batch b = MakeBatch(train, starts, C, job->corpus().bos());
    auto got = job->cache().Get(train, starts, b.x, teacher_fn);
    if (!got.ok()) {
      std::fprintf(stderr, "%s\n", got.status().ToString().c_str());
      return 1;
    }
  }
  const double cache_seconds = Seconds(t_cache);

  PythonPeer peer;
  const bool with_peer = !peer_script.empty();
  std::string peer_info = "{}";
  if (with_peer) {
    if (!peer.Start(peer_script, threads)) {
      std::fprintf(stderr, "cannot start the PyTorch peer\n");
      return 1;
    }
    std::ostringstream setup;
    setup << "setup {\"dir\": \"" << out_dir << "\", \"teacher\": \"" << teacher_path
          << "\", \"threads\": " << threads << ", \"batch\": " << batch << ", \"context\": " << C
          << ", \"steps\": " << steps << "}";
    if (!PeerOk(peer.Call(setup.str()))) {
      std::fprintf(stderr, "the PyTorch peer failed to set up\n");
      return 1;
    }
  }

  std::ostringstream students;
  int index = 0;
  for (const Student& st : Students()) {
    if (!only.empty() && st.name.find(only) == std::string::npos) continue;
    torch::manual_seed(1000 + index);
    Gpt model(GptConfig{st.arch, Compression{}, job->corpus().tokenizer().vocab_size(), false});
    const std::string init = out_dir + "/init_" + st.name + ".pt";
    if (auto s = SaveTorchScript(*model, job->corpus().tokenizer(), init); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    std::ostringstream spec;
    spec << "{\"name\": \"" << st.name << "\", \"category\": \"" << st.category
         << "\", \"layers\": " << st.arch.num_layers << ", \"d_model\": " << st.arch.d_model
         << ", \"heads\": " << st.arch.num_heads << ", \"d_ff\": " << st.arch.d_ff
         << ", \"temperature\": " << st.temperature << ", \"alpha\": " << st.alpha
         << ", \"init\": \"" << init << "\"";
    if (with_peer && !PeerOk(peer.Call("student " + spec.str() + "}"))) {
      std::fprintf(stderr, "the PyTorch peer failed on %s\n", st.name.c_str());
      return 1;
    }
    // The two sides alternate every `chunk` steps (the callback runs the
    // peer's share; kdnas counts only its own step times).
    PeerClock peer_clock(&peer);
    auto run_peer = [&](int64_t upto) {
      if (with_peer) peer_clock.RunUpTo(upto);
    };
    TrainOptions t;
    t.steps = steps;
    t.batch_size = batch;
    t.temperature = st.temperature;
    t.alpha = st.alpha;
    t.data_seed = data_seed;
    t.progress_every_steps = chunk;
    TeacherSource teacher{&job->cache(), teacher_fn};
    auto r = Train(*model, job->corpus(), &teacher, Compression{}, t, nullptr,
                   [&](const TrainingProgress& p) {
                     run_peer(p.step);
                     return true;
                   });
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
    run_peer(steps);
    double kdnas_seconds = 0;
    for (float x : r->step_seconds) kdnas_seconds += x;
    LogitsFn fn = [&](const torch::Tensor& x) { return model->forward(x); };
    const double val = ValidationLoss(fn, eval.x, eval.y);
    const double torch_val = with_peer ? JsonNumber(peer.Call("eval"), "val_loss") : std::nan("");
    if (!peer_clock.ok()) {
      std::fprintf(stderr, "the PyTorch peer failed while training %s\n", st.name.c_str());
      return 1;
    }
    Candidate c;
    c.architecture = st.arch;
    const CostEstimate cost = EstimateCost(c, {job->corpus().tokenizer().vocab_size(), 0});
    const double tokens = static_cast<double>(steps * batch * C);
    std::fprintf(stderr, "%-16s kdnas %7.0f tok/s  val %.4f   torch %7.0f tok/s  val %.4f\n",
                 st.name.c_str(), tokens / kdnas_seconds, val, tokens / peer_clock.seconds(),
                 torch_val);
    students << (index ? ",\n" : "") << "  " << spec.str() << ", \"tokens\": " << steps * batch * C
             << ", \"kdnas_seconds\": " << kdnas_seconds
             << ", \"kdnas_median_step_seconds\": " << Median(r->step_seconds)
             << ", \"kdnas_val_loss\": " << val << ", \"torch_seconds\": " << peer_clock.seconds()
             << ", \"torch_val_loss\": " << torch_val
             << ", \"train_flops_per_token\": " << cost.train_flops_per_token << "}";
    ++index;
  }
  if (with_peer) peer_info = peer.Call("rss");
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  std::printf(
      "{\"threads\": %d, \"batch\": %d, \"context\": %d, \"steps\": %lld, \"chunk\": %lld, "
      "\"peak_gflops\": %.3f, "
      "\"blas\": \"%s\", \"torch\": \"%s\", \"cache_seconds\": %.4f, \"cache_bytes\": %lld, "
      "\"cache_windows\": %lld, \"kdnas_peak_rss_mb\": %.1f, \"torch_peak_rss_mb\": %.1f,\n "
      "\"students\": [\n%s]}\n",
      threads, batch, C, static_cast<long long>(steps), static_cast<long long>(chunk), peak,
      LoadedBlasLibrary().c_str(), TORCH_VERSION, cache_seconds,
      static_cast<long long>(job->cache().bytes()), static_cast<long long>(job->cache().entries()),
      ru.ru_maxrss / 1024.0, JsonNumber(peer_info, "peak_rss_mb"), students.str().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
