#include "evaluator/llama_runtime.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>

#include "evaluator/llama_backend.h"
#include "gguf.h"
#include "llama.h"

namespace kdnas {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string CpuName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    size_t colon = line.find(':');
    if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
  }
  return "unknown CPU";
}

// llama.cpp reads tensors at offsets from the end of the tensor infos and
// does not check that the data section ends where the file does, so a GGUF
// whose header counts one tensor too few loads with every weight shifted.
// Its data must end at the file's end, give or take the last padding.
Status CheckDataEndsTheFile(const std::string& path) {
  gguf_init_params params = {/*no_alloc=*/true, /*ctx=*/nullptr};
  gguf_context* gguf = gguf_init_from_file(path.c_str(), params);
  if (gguf == nullptr) return InvalidArgument("'" + path + "': ggml cannot read its GGUF header");
  uint64_t end = gguf_get_data_offset(gguf);
  const int64_t n_tensors = gguf_get_n_tensors(gguf);
  if (n_tensors > 0) {
    end += gguf_get_tensor_offset(gguf, n_tensors - 1) + gguf_get_tensor_size(gguf, n_tensors - 1);
  }
  const uint64_t alignment = gguf_get_alignment(gguf);
  gguf_free(gguf);
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec || file_size < end || file_size - end >= alignment) {
    return InvalidArgument("'" + path + "' is not a well-formed GGUF: its " +
                           std::to_string(n_tensors) + " tensors end at byte " +
                           std::to_string(end) + " of " + std::to_string(file_size) +
                           ", so its tensor count or offsets are wrong");
  }
  return Status::Ok();
}

struct SamplerFree {
  void operator()(llama_sampler* s) const { llama_sampler_free(s); }
};

}  // namespace

StatusOr<std::unique_ptr<LlamaRuntime>> LlamaRuntime::Load(const std::string& gguf_path,
                                                           LlamaRuntimeOptions options) {
  if (options.threads < 0) return InvalidArgument("LlamaRuntimeOptions.threads must be >= 0");
  if (options.n_ctx < 1) return InvalidArgument("LlamaRuntimeOptions.n_ctx must be >= 1");
  if (options.batch_size < 1) {
    return InvalidArgument("LlamaRuntimeOptions.batch_size must be >= 1");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(gguf_path, ec)) {
    return NotFound("llama.cpp model '" + gguf_path + "': no such file");
  }
  KDNAS_RETURN_IF_ERROR(InitLlamaBackend());

  LlamaLogMark mark;
  llama_model_params model_params = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(gguf_path.c_str(), model_params);
  if (model == nullptr) {
    // Its last lines only say "failed to load model"; the reason comes before.
    return InvalidArgument("llama.cpp could not load '" + gguf_path +
                           "': " + mark.ErrorLines(2, "failed to load model"));
  }
  if (Status s = CheckDataEndsTheFile(gguf_path); !s.ok()) {
    llama_model_free(model);
    return s;
  }

  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int batch = std::min(options.batch_size, options.n_ctx);
  llama_context_params ctx_params = llama_context_default_params();
  ctx_params.n_ctx = static_cast<uint32_t>(options.n_ctx);
  ctx_params.n_batch = static_cast<uint32_t>(batch);
  ctx_params.n_ubatch = static_cast<uint32_t>(batch);
  ctx_params.n_seq_max = 1;
  ctx_params.n_threads = threads;
  ctx_params.n_threads_batch = threads;
  ctx_params.no_perf = true;
  if (options.f32_attention) {
    ctx_params.type_k = GGML_TYPE_F32;
    ctx_params.type_v = GGML_TYPE_F32;
    ctx_params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  }
  llama_context* ctx = llama_init_from_model(model, ctx_params);
  if (ctx == nullptr) {
    llama_model_free(model);
    return ResourceExhausted("llama.cpp could not create a context for '" + gguf_path +
                             "': " + mark.ErrorLines());
  }
  return std::unique_ptr<LlamaRuntime>(
      new LlamaRuntime(model, ctx, threads, static_cast<int>(llama_n_batch(ctx))));
}

LlamaRuntime::LlamaRuntime(llama_model* model, llama_context* ctx, int threads, int batch_size)
    : model_(model), ctx_(ctx), threads_(threads), batch_size_(batch_size) {
  char arch[128];
  int32_t n = llama_model_meta_val_str(model_, "general.architecture", arch, sizeof(arch));
  architecture_ = n >= 0 ? std::string(arch) : "unknown";
}

LlamaRuntime::~LlamaRuntime() {
  llama_free(ctx_);
  llama_model_free(model_);
}

int LlamaRuntime::n_vocab() const { return llama_vocab_n_tokens(llama_model_get_vocab(model_)); }
int LlamaRuntime::n_ctx_train() const { return llama_model_n_ctx_train(model_); }
int LlamaRuntime::n_ctx() const {
  // llama.cpp rounds the context up (to 256); a GPT-2's learned positions
  // still end at its training context.
  return std::min(static_cast<int>(llama_n_ctx(ctx_)), n_ctx_train());
}
uint64_t LlamaRuntime::model_size_bytes() const { return llama_model_size(model_); }
std::optional<int32_t> LlamaRuntime::bos_to_add() const {
  const llama_vocab* vocab = llama_model_get_vocab(model_);
  if (!llama_vocab_get_add_bos(vocab) || llama_vocab_bos(vocab) == LLAMA_TOKEN_NULL)
    return std::nullopt;
  return llama_vocab_bos(vocab);
}

StatusOr<std::vector<int32_t>> LlamaRuntime::Tokenize(std::string_view text, bool add_special,
                                                      bool parse_special) const {
  if (text.size() > static_cast<size_t>(INT32_MAX / 2)) {
    return InvalidArgument("Tokenize: text of " + std::to_string(text.size()) + " bytes");
  }
  const llama_vocab* vocab = llama_model_get_vocab(model_);
  std::vector<int32_t> tokens(text.size() + 4);
  for (int attempt = 0; attempt < 2; ++attempt) {
    int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                               static_cast<int32_t>(tokens.size()), add_special, parse_special);
    if (n >= 0) {
      tokens.resize(n);
      return tokens;
    }
    if (n == INT32_MIN) break;
    tokens.resize(static_cast<size_t>(-n));  // llama.cpp says how many it needs
  }
  return Internal("llama_tokenize failed on " + std::to_string(text.size()) + " bytes");
}

Status LlamaRuntime::CheckTokens(const std::vector<int32_t>& tokens) const {
  const int vocab = n_vocab();
  for (int32_t t : tokens) {
    if (t < 0 || t >= vocab) {
      return InvalidArgument("token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                             std::to_string(vocab) + ")");
    }
  }
  return Status::Ok();
}

Status LlamaRuntime::Decode(const std::vector<int32_t>& tokens, int start_pos, bool all_logits) {
  const int n = static_cast<int>(tokens.size());
  llama_batch batch = llama_batch_init(n, 0, 1);
  for (int i = 0; i < n; ++i) {
    batch.token[i] = tokens[i];
    batch.pos[i] = start_pos + i;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = all_logits || i == n - 1;
  }
  batch.n_tokens = n;
  LlamaLogMark mark;
  const int32_t rc = llama_decode(ctx_, batch);
  llama_batch_free(batch);
  if (rc != 0) {
    return Internal("llama_decode of " + std::to_string(n) + " tokens at position " +
                    std::to_string(start_pos) + " returned " + std::to_string(rc) + ": " +
                    mark.ErrorLines());
  }
  return Status::Ok();
}

StatusOr<double> LlamaRuntime::MeanNll(const std::vector<std::vector<int32_t>>& windows) {
  if (windows.empty()) return InvalidArgument("MeanNll: no windows");
  const int vocab = n_vocab();
  double total = 0;
  int64_t count = 0;
  for (size_t w = 0; w < windows.size(); ++w) {
    const std::vector<int32_t>& x = windows[w];
    const int t_len = static_cast<int>(x.size()) - 1;  // positions with a next token
    if (t_len < 1 || t_len > batch_size_ || t_len > n_ctx()) {
      return InvalidArgument("MeanNll: window " + std::to_string(w) + " has " +
                             std::to_string(x.size()) + " tokens; need 2.." +
                             std::to_string(std::min(batch_size_, n_ctx()) + 1));
    }
    KDNAS_RETURN_IF_ERROR(CheckTokens(x));
    llama_memory_clear(llama_get_memory(ctx_), true);
    KDNAS_RETURN_IF_ERROR(Decode(std::vector<int32_t>(x.begin(), x.end() - 1), 0, true));
    for (int t = 0; t < t_len; ++t) {
      const float* logits = llama_get_logits_ith(ctx_, t);
      if (logits == nullptr)
        return Internal("llama.cpp returned no logits for position " + std::to_string(t));
      const double max = *std::max_element(logits, logits + vocab);
      double sum = 0;
      for (int v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(logits[v]) - max);
      total += max + std::log(sum) - static_cast<double>(logits[x[t + 1]]);
      ++count;
    }
  }
  llama_memory_clear(llama_get_memory(ctx_), true);
  const double nll = total / static_cast<double>(count);
  if (!std::isfinite(nll)) return Internal("MeanNll: llama.cpp's logits give a non-finite NLL");
  return nll;
}

StatusOr<LlamaSpeed> LlamaRuntime::MeasureSpeed(int prompt_tokens, int decode_tokens) {
  if (prompt_tokens < 1 || decode_tokens < 1 || prompt_tokens > batch_size_ ||
      prompt_tokens + decode_tokens > n_ctx()) {
    return InvalidArgument(
        "MeasureSpeed: need 1 <= prompt_tokens <= " + std::to_string(batch_size_) +
        ", decode_tokens >= 1 and their sum <= n_ctx " + std::to_string(n_ctx()));
  }
  const int vocab = n_vocab();
  std::vector<int32_t> prompt(prompt_tokens);
  for (int i = 0; i < prompt_tokens; ++i) prompt[i] = (i * 7919 + 17) % vocab;
  double prompt_s = 0;
  double decode_s = 0;
  for (int run = 0; run < 2; ++run) {  // run 0 is the warm-up
    llama_memory_clear(llama_get_memory(ctx_), true);
    Clock::time_point start = Clock::now();
    KDNAS_RETURN_IF_ERROR(Decode(prompt, 0, false));
    llama_synchronize(ctx_);
    prompt_s = SecondsSince(start);
    start = Clock::now();
    for (int i = 0; i < decode_tokens; ++i) {
      KDNAS_RETURN_IF_ERROR(Decode({(i * 104729 + 3) % vocab}, prompt_tokens + i, false));
      llama_synchronize(ctx_);
    }
    decode_s = SecondsSince(start);
  }
  llama_memory_clear(llama_get_memory(ctx_), true);

  LlamaSpeed speed;
  speed.prompt_tokens_per_second = prompt_tokens / std::max(prompt_s, 1e-9);
  speed.decode_ms_per_token = 1e3 * decode_s / decode_tokens;
  speed.prompt_tokens = prompt_tokens;
  speed.decode_tokens = decode_tokens;
  speed.threads = threads_;
  speed.runtime = LlamaRuntimeDescription();
  speed.cpu = CpuName();
  char numbers[160];
  std::snprintf(numbers, sizeof(numbers),
                "prompt of %d tokens at %.1f tokens/s, then %d tokens at batch 1 at %.3f ms/token",
                prompt_tokens, speed.prompt_tokens_per_second, decode_tokens,
                speed.decode_ms_per_token);
  speed.description = speed.runtime + " on " + speed.cpu + ", " + std::to_string(threads_) +
                      " thread(s), " + architecture_ + " model: " + numbers;
  return speed;
}

StatusOr<std::string> LlamaRuntime::Generate(std::string_view prompt, int max_tokens, uint64_t seed,
                                             float temperature, bool stop_at_end_of_generation) {
  if (max_tokens < 0) return InvalidArgument("Generate: max_tokens must be >= 0");
  KDNAS_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, Tokenize(prompt, true, true));
  if (tokens.empty() || static_cast<int>(tokens.size()) > batch_size_ ||
      static_cast<int>(tokens.size()) >= n_ctx()) {
    return InvalidArgument("Generate: the prompt is " + std::to_string(tokens.size()) +
                           " tokens; need 1.." +
                           std::to_string(std::min(batch_size_, n_ctx() - 1)));
  }
  llama_memory_clear(llama_get_memory(ctx_), true);
  KDNAS_RETURN_IF_ERROR(Decode(tokens, 0, false));

  llama_sampler_chain_params chain_params = llama_sampler_chain_default_params();
  chain_params.no_perf = true;
  std::unique_ptr<llama_sampler, SamplerFree> chain(llama_sampler_chain_init(chain_params));
  if (temperature > 0) {
    // llama.cpp's seeds are 32-bit and LLAMA_DEFAULT_SEED means "random".
    uint32_t seed32 = static_cast<uint32_t>(seed ^ (seed >> 32));
    if (seed32 == LLAMA_DEFAULT_SEED) seed32 = 0;
    llama_sampler_chain_add(chain.get(), llama_sampler_init_temp(temperature));
    llama_sampler_chain_add(chain.get(), llama_sampler_init_dist(seed32));
  } else {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_greedy());
  }

  const llama_vocab* vocab = llama_model_get_vocab(model_);
  std::string text;
  std::vector<char> piece(64);
  int pos = static_cast<int>(tokens.size());
  for (int i = 0; i < max_tokens; ++i) {
    const llama_token token = llama_sampler_sample(chain.get(), ctx_, -1);
    if (stop_at_end_of_generation && llama_vocab_is_eog(vocab, token)) break;
    int32_t n = llama_token_to_piece(vocab, token, piece.data(), static_cast<int32_t>(piece.size()),
                                     0, false);
    if (n < 0) {
      piece.resize(static_cast<size_t>(-n));
      n = llama_token_to_piece(vocab, token, piece.data(), static_cast<int32_t>(piece.size()), 0,
                               false);
    }
    if (n > 0) text.append(piece.data(), static_cast<size_t>(n));
    if (i + 1 == max_tokens || pos >= n_ctx()) break;
    KDNAS_RETURN_IF_ERROR(Decode({token}, pos++, false));
  }
  llama_memory_clear(llama_get_memory(ctx_), true);
  return text;
}

}  // namespace kdnas
