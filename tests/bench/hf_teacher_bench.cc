// The hf_teacher benchmark driver: distillation from a teacher of real size
// (a Hugging Face checkpoint) in kdnas, with the job's teacher pass computed
// once into a shard file and every student reading its steps' top-k targets
// from it, against two PyTorch 1.13 peers (hf_teacher_torch.py) that train
// the same students from the same initial weights on the same batches:
//   eager   runs the teacher every step and distils from its full
//           log-probabilities (what a KD script does);
//   cached  reads the same shard file and uses the same top-k loss as kdnas
//           (the training engine alone).
// The three alternate every `chunk` steps so that all meet the same background
// load; each counts only its own step times. Prints one JSON object on stdout.
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "evaluator/blas_probe.h"
#include "evaluator/evaluate.h"
#include "formats/hf_kdnas_architecture.h"
#include "search/flags.h"
#include "tests/bench/python_peer.h"
#include "workers/distill.h"
#include "workers/hf_export.h"
#include "workers/run_candidate.h"
#include "workers/teacher_shard.h"

namespace {

using namespace kdnas;

double PeakRssMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

std::vector<int> ParseLayers(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoi(item));
  return out;
}

int Main(int argc, char** argv) {
  std::string teacher_dir, data_path = "data/tinyshakespeare.txt", out_dir, layers_text = "2,3,4";
  std::string peer_script = "tests/bench/hf_teacher_torch.py";
  int64_t steps = 20, eval_tokens = 2048, chunk = 5, top_k = 32;
  int64_t threads = 2, batch = 8, context = 128;
  double temperature = 2.0, alpha = 0.5;
  FlagSet flags("hf_teacher_bench --teacher-dir DIR --out DIR [flags]");
  flags.String("teacher-dir", &teacher_dir, "Hugging Face checkpoint directory.");
  flags.String("data", &data_path, "Corpus.");
  flags.String("out", &out_dir, "Directory for the shard and the files the peers read.");
  flags.String("layers", &layers_text, "Students' layer counts, comma-separated.");
  flags.String("peer", &peer_script, "The PyTorch peer script (\"\" = kdnas only).");
  flags.Int("steps", &steps, "Optimizer steps per student.");
  flags.Int("batch", &batch, "Windows per step.");
  flags.Int("context", &context, "Tokens per window.");
  flags.Int("threads", &threads, "Intra-op threads (each side).");
  flags.Int("eval-tokens", &eval_tokens, "Held-out tokens.");
  flags.Int("chunk", &chunk, "Steps each side runs before the next takes its turn.");
  flags.Int("top-k", &top_k, "Teacher outputs kept per token.");
  flags.Double("temperature", &temperature, "KD temperature.");
  flags.Double("alpha", &alpha, "KD weight.");
  if (auto s = flags.Parse(argc, argv); !s.ok() || flags.help_requested()) {
    std::fprintf(stderr, "%s\n%s", s.message().c_str(), flags.Help().c_str());
    return 2;
  }
  torch::set_num_threads(static_cast<int>(threads));
  const int C = static_cast<int>(context), B = static_cast<int>(batch);
  JobOptions jo;
  jo.hf_teacher_dir = teacher_dir;
  jo.data_path = data_path;
  jo.window_length = C;
  jo.eval_tokens = eval_tokens;
  jo.cache.top_k = static_cast<int>(top_k);
  auto job_or = JobResources::Load(jo);
  if (!job_or.ok()) {
    std::fprintf(stderr, "%s\n", job_or.status().ToString().c_str());
    return 1;
  }
  auto job = *job_or;
  const Corpus& corpus = job->corpus();
  const HfModel& hf = *job->teacher().hf_model();
  const int vocab = job->teacher().vocab_size();
  const uint64_t data_seed = 1;
  const double peak_gflops = MeasureMatmulGflops(512, 5);
  const double rss_loaded_mb = PeakRssMb();

  // Files for the peers: tokens, every step's window starts, held-out starts.
  const auto& train = corpus.train_tokens();
  WriteRaw(out_dir + "/train_tokens.bin", train);
  WriteRaw(out_dir + "/val_tokens.bin", corpus.val_tokens());
  std::vector<int64_t> all_starts;
  for (int64_t s = 0; s < steps; ++s) {
    auto st = BatchStarts(data_seed, s, B, train.numel(), C);
    all_starts.insert(all_starts.end(), st.begin(), st.end());
  }
  WriteRaw(out_dir + "/batch_starts.bin", torch::tensor(all_starts, torch::kInt64));
  auto eval_starts = EvalStarts(corpus.val_tokens().numel(), C, eval_tokens);
  WriteRaw(out_dir + "/eval_starts.bin", torch::tensor(eval_starts, torch::kInt64));
  Batch eval = MakeBatch(corpus.val_tokens(), eval_starts, C, corpus.bos());

  // The teacher pass, once: every step's windows into one shard file.
  TeacherShardSpec spec;
  spec.data_seed = data_seed;
  spec.batch_size = B;
  spec.window = C;
  spec.first_step = 0;
  spec.steps = steps;
  spec.vocab_size = vocab;
  spec.cache = jo.cache;
  const std::string shard_path = out_dir + "/teacher-shard.bin";
  auto teacher_fn = [&](const torch::Tensor& x) { return job->TeacherLogits(x); };
  auto t_pass = std::chrono::steady_clock::now();
  if (auto s =
          WriteTeacherShard(spec, corpus, teacher_fn, shard_path, [](int64_t) { return false; });
      !s.ok()) {
    std::fprintf(stderr, "teacher pass: %s\n", s.ToString().c_str());
    return 1;
  }
  const double pass_seconds = Seconds(t_pass);
  auto shard = TeacherShard::Open(shard_path);
  if (!shard.ok()) {
    std::fprintf(stderr, "%s\n", shard.status().ToString().c_str());
    return 1;
  }
  TeacherShardSet shards;
  if (auto s = shards.Add(*shard); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "teacher pass: %lld steps x %d windows x %d tokens in %.1f s, %lld bytes\n",
               static_cast<long long>(steps), B, C, pass_seconds,
               static_cast<long long>((*shard)->file_bytes()));

  const bool with_peers = !peer_script.empty();
  PythonPeer eager, cached;
  if (with_peers) {
    std::ostringstream setup;
    setup << "{\"dir\": \"" << out_dir << "\", \"teacher_dir\": \"" << teacher_dir
          << "\", \"shard\": \"" << shard_path << "\", \"threads\": " << threads
          << ", \"batch\": " << B << ", \"context\": " << C << ", \"steps\": " << steps
          << ", \"bos\": " << (corpus.bos() ? *corpus.bos() : -1) << ", \"mode\": ";
    if (!eager.Start(peer_script, static_cast<int>(threads)) ||
        !cached.Start(peer_script, static_cast<int>(threads)) ||
        !PeerOk(eager.Call("setup " + setup.str() + "\"eager\"}")) ||
        !PeerOk(cached.Call("setup " + setup.str() + "\"cached\"}"))) {
      std::fprintf(stderr, "the PyTorch peers failed to set up\n");
      return 1;
    }
  }

  std::ostringstream students;
  int index = 0;
  for (int layers : ParseLayers(layers_text)) {
    Architecture arch;
    arch.family = StudentFamilyOf(hf.config());
    arch.num_layers = layers;
    arch.d_model = static_cast<int>(hf.config().hidden_size);
    arch.num_heads = static_cast<int>(hf.config().num_heads);
    arch.num_kv_heads = static_cast<int>(hf.config().num_kv_heads);
    arch.d_ff = static_cast<int>(hf.config().intermediate_size);
    arch.context_length = C;
    const std::string name = std::to_string(layers) + "L-d" + std::to_string(arch.d_model);
    torch::manual_seed(1000 + index);
    Gpt model(GptConfig{arch, Compression{}, vocab, false});
    const std::string init = out_dir + "/init-" + name;
    if (auto s = WriteHfCheckpoint(*model, corpus.tokenizer(), init, SafetensorsDtype::kF32);
        !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    std::ostringstream student;
    student << "{\"name\": \"" << name << "\", \"init\": \"" << init
            << "\", \"temperature\": " << temperature << ", \"alpha\": " << alpha << "}";
    if (with_peers && (!PeerOk(eager.Call("student " + student.str())) ||
                       !PeerOk(cached.Call("student " + student.str())))) {
      std::fprintf(stderr, "the PyTorch peers failed on %s\n", name.c_str());
      return 1;
    }
    PeerClock eager_clock(&eager), cached_clock(&cached);
    TrainOptions t;
    t.steps = steps;
    t.batch_size = B;
    t.temperature = temperature;
    t.alpha = alpha;
    t.data_seed = data_seed;
    t.window_length = C;
    t.progress_every_steps = chunk;
    TeacherSource teacher{&job->cache(), teacher_fn, &shards};
    auto r =
        Train(*model, corpus, &teacher, Compression{}, t, nullptr, [&](const TrainingProgress& p) {
          if (with_peers) {
            eager_clock.RunUpTo(p.step);
            cached_clock.RunUpTo(p.step);
          }
          return true;
        });
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
    double kdnas_seconds = 0;
    for (float x : r->step_seconds) kdnas_seconds += x;
    LogitsFn fn = [&](const torch::Tensor& x) { return model->forward(x); };
    const double val = ValidationLoss(fn, eval.x, eval.y);
    double eager_val = std::nan(""), cached_val = std::nan("");
    if (with_peers) {
      eager_clock.RunUpTo(steps);
      cached_clock.RunUpTo(steps);
      if (!eager_clock.ok() || !cached_clock.ok()) {
        std::fprintf(stderr, "a PyTorch peer failed while training %s\n", name.c_str());
        return 1;
      }
      eager_val = JsonNumber(eager.Call("eval"), "val_loss");
      cached_val = JsonNumber(cached.Call("eval"), "val_loss");
    }
    const double tokens = static_cast<double>(steps * B * C);
    std::fprintf(stderr,
                 "%-9s kdnas %6.0f tok/s val %.4f | eager %6.0f tok/s val %.4f | cached %6.0f "
                 "tok/s val %.4f\n",
                 name.c_str(), tokens / kdnas_seconds, val, tokens / eager_clock.seconds(),
                 eager_val, tokens / cached_clock.seconds(), cached_val);
    students << (index ? ",\n" : "") << "  {\"name\": \"" << name << "\", \"layers\": " << layers
             << ", \"tokens\": " << steps * B * C << ", \"kdnas_seconds\": " << kdnas_seconds
             << ", \"kdnas_val_loss\": " << val << ", \"eager_seconds\": " << eager_clock.seconds()
             << ", \"eager_val_loss\": " << eager_val
             << ", \"cached_seconds\": " << cached_clock.seconds()
             << ", \"cached_val_loss\": " << cached_val << "}";
    ++index;
  }
  std::string eager_rss = "{}", cached_rss = "{}";
  if (with_peers) {
    eager_rss = eager.Call("rss");
    cached_rss = cached.Call("rss");
  }
  std::printf(
      "{\"threads\": %lld, \"batch\": %d, \"context\": %d, \"steps\": %lld, \"chunk\": %lld, "
      "\"top_k\": %lld, \"vocab\": %d, \"teacher_layers\": %lld, \"teacher_d_model\": %lld, "
      "\"peak_gflops\": %.3f, \"blas\": \"%s\", \"torch\": \"%s\", "
      "\"pass_seconds\": %.4f, \"shard_bytes\": %lld, \"shard_tokens\": %lld, "
      "\"kdnas_rss_loaded_mb\": %.1f, \"kdnas_peak_rss_mb\": %.1f, "
      "\"eager_peak_rss_mb\": %.1f, \"cached_peak_rss_mb\": %.1f,\n \"students\": [\n%s]}\n",
      static_cast<long long>(threads), B, C, static_cast<long long>(steps),
      static_cast<long long>(chunk), static_cast<long long>(top_k), vocab,
      static_cast<long long>(hf.config().num_layers),
      static_cast<long long>(hf.config().hidden_size), peak_gflops, LoadedBlasLibrary().c_str(),
      TORCH_VERSION, pass_seconds, static_cast<long long>((*shard)->file_bytes()),
      static_cast<long long>(steps * B * C), rss_loaded_mb, PeakRssMb(),
      JsonNumber(eager_rss, "peak_rss_mb"), JsonNumber(cached_rss, "peak_rss_mb"),
      students.str().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
