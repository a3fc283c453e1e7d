// kdnas side of the worker_throughput benchmark: distills several students
// from one teacher over the same batches, with the job-wide teacher-output
// cache built once (its time counts), and writes everything the PyTorch peer
// needs to run the same students on the same batches from the same initial
// weights. Prints one JSON object (the manifest) on stdout.
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "evaluator/blas_probe.h"
#include "evaluator/evaluate.h"
#include "search/cost_model.h"
#include "search/flags.h"
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

void WriteRaw(const std::string& path, const torch::Tensor& t) {
  auto c = t.contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * c.element_size()));
}

template <typename T>
double Median(std::vector<T> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return static_cast<double>(v[v.size() / 2]);
}

double Seconds(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
}

int Main(int argc, char** argv) {
  std::string teacher_path, data_path = "data/tinyshakespeare.txt", out_dir;
  int64_t steps = 200, eval_tokens = 16384;
  int threads = 2, batch = 12;
  std::string only;
  FlagSet flags("worker_throughput_bench --teacher t.pt --out DIR [flags]");
  flags.String("teacher", &teacher_path, "TorchScript teacher.");
  flags.String("data", &data_path, "Corpus.");
  flags.String("out", &out_dir, "Directory for the files the PyTorch peer reads.");
  flags.Int("steps", &steps, "Optimizer steps per student.");
  flags.Int("threads", &threads, "Intra-op threads.");
  flags.Int("batch", &batch, "Sequences per step.");
  flags.Int("eval-tokens", &eval_tokens, "Held-out tokens.");
  flags.String("only", &only, "Run only students whose name contains this.");
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
  Batch eval = MakeBatch(job->corpus().val_tokens(), eval_starts, C);

  // One-off: the teacher-output cache for every batch of the run, in chunks
  // of 4 steps per teacher call.
  auto t_cache = std::chrono::steady_clock::now();
  auto teacher_fn = [&](const torch::Tensor& x) { return job->TeacherLogits(x); };
  std::vector<double> chunk_seconds;
  for (int64_t s = 0; s < steps; s += 4) {
    auto t_chunk = std::chrono::steady_clock::now();
    std::vector<int64_t> starts;
    for (int64_t k = s; k < std::min(steps, s + 4); ++k) {
      auto st = BatchStarts(data_seed, k, batch, train.numel(), C);
      starts.insert(starts.end(), st.begin(), st.end());
    }
    Batch b = MakeBatch(train, starts, C);
    auto got = job->cache().Get(train, starts, b.x, teacher_fn);
    if (!got.ok()) {
      std::fprintf(stderr, "%s\n", got.status().ToString().c_str());
      return 1;
    }
    chunk_seconds.push_back(Seconds(t_chunk));
  }
  const double cache_seconds = Seconds(t_cache);

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
    TrainOptions t;
    t.steps = steps;
    t.batch_size = batch;
    t.temperature = st.temperature;
    t.alpha = st.alpha;
    t.data_seed = data_seed;
    t.progress_every_steps = steps;
    TeacherSource teacher{&job->cache(), teacher_fn};
    auto r = Train(*model, job->corpus(), &teacher, Compression{}, t, nullptr, nullptr);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
    LogitsFn fn = [&](const torch::Tensor& x) { return model->forward(x); };
    const double val = ValidationLoss(fn, eval.x, eval.y);
    Candidate c;
    c.architecture = st.arch;
    const CostEstimate cost = EstimateCost(c, {job->corpus().tokenizer().vocab_size(), 0});
    std::fprintf(stderr, "kdnas %-16s %7.0f tok/s  val %.4f\n", st.name.c_str(), r->tokens_per_second, val);
    students << (index ? ",\n" : "") << "  {\"name\": \"" << st.name << "\", \"category\": \"" << st.category
             << "\", \"layers\": " << st.arch.num_layers << ", \"d_model\": " << st.arch.d_model
             << ", \"heads\": " << st.arch.num_heads << ", \"d_ff\": " << st.arch.d_ff
             << ", \"temperature\": " << st.temperature << ", \"alpha\": " << st.alpha << ", \"init\": \"" << init
             << "\", \"train_seconds\": " << r->train_seconds << ", \"median_step_seconds\": " << Median(r->step_seconds)
             << ", \"tokens\": " << steps * batch * C
             << ", \"val_loss\": " << val << ", \"train_flops_per_token\": " << cost.train_flops_per_token << "}";
    ++index;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  Candidate tc;
  if (job->teacher().architecture()) tc.architecture = *job->teacher().architecture();
  const CostEstimate tcost = EstimateCost(tc, {job->corpus().tokenizer().vocab_size(), 0});
  std::printf(
      "{\"threads\": %d, \"batch\": %d, \"context\": %d, \"steps\": %lld, \"peak_gflops\": %.3f, \"blas\": \"%s\", "
      "\"torch\": \"%s\", \"cache_seconds\": %.4f, \"cache_chunks\": %zu, \"cache_chunk_median_seconds\": %.5f, \"cache_bytes\": %lld, \"cache_windows\": %lld, "
      "\"teacher_flops_per_token\": %lld, \"peak_rss_mb\": %.1f, \"teacher\": \"%s\",\n \"students\": [\n%s]}\n",
      threads, batch, C, static_cast<long long>(steps), peak, LoadedBlasLibrary().c_str(), TORCH_VERSION,
      cache_seconds, chunk_seconds.size(), Median(chunk_seconds), static_cast<long long>(job->cache().bytes()), static_cast<long long>(job->cache().entries()),
      static_cast<long long>(tcost.flops_per_token), ru.ru_maxrss / 1024.0, teacher_path.c_str(),
      students.str().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
