#include "workers/corpus.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "search/rng.h"

namespace kdnas {

StatusOr<Corpus> Corpus::FromFile(const std::string& path, const JobTokenizer* tokenizer,
                                  const CorpusOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("data: cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return FromText(ss.str(), tokenizer, options, "data '" + path + "'");
}

StatusOr<Corpus> Corpus::FromText(const std::string& text, const JobTokenizer* tokenizer,
                                  const CorpusOptions& options, const std::string& what) {
  if (!(options.validation_fraction > 0 && options.validation_fraction <= 0.5)) {
    return InvalidArgument("data.validation_fraction: must be in (0, 0.5], got " +
                           std::to_string(options.validation_fraction));
  }
  if (text.empty()) return InvalidArgument(what + ": is empty; a UTF-8 text corpus is needed");
  std::optional<JobTokenizer> job_tokenizer;
  if (tokenizer == nullptr || tokenizer->kdnas() != nullptr) {
    // Building validates the text (NUL bytes, invalid UTF-8) for kdnas's
    // tokenizers, as the controller does.
    KDNAS_ASSIGN_OR_RETURN(Tokenizer built, Tokenizer::Build(text, options.tokenizer_kind, what));
    if (tokenizer == nullptr) job_tokenizer.emplace(std::move(built));
  }
  Corpus corpus(job_tokenizer ? std::move(*job_tokenizer) : *tokenizer);
  auto ids = corpus.tokenizer_.Encode(text);
  if (!ids.ok()) {
    return InvalidArgument(what + ": cannot be encoded by the teacher's " +
                           KindName(corpus.tokenizer_.kind()) +
                           " tokenizer: " + ids.status().message());
  }
  const int64_t n = static_cast<int64_t>(ids->size());
  auto all = torch::empty({n}, torch::kInt64);
  auto* p = all.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) p[i] = (*ids)[i];
  const int64_t n_val =
      static_cast<int64_t>(std::floor(static_cast<double>(n) * options.validation_fraction));
  corpus.train_ = all.narrow(0, 0, n - n_val).clone();
  corpus.val_ = all.narrow(0, n - n_val, n_val).clone();
  return corpus;
}

Status Corpus::CheckContext(int context) const {
  const int64_t need = context + 1;
  if (train_.numel() < 2 * need || val_.numel() < need) {
    return InvalidArgument("data: too small: " + std::to_string(train_.numel()) + " training and " +
                           std::to_string(val_.numel()) + " validation tokens; context " +
                           std::to_string(context) + " needs at least " + std::to_string(2 * need) +
                           " and " + std::to_string(need));
  }
  return Status::Ok();
}

std::vector<int64_t> BatchStarts(uint64_t seed, int64_t step, int batch_size, int64_t num_tokens,
                                 int context) {
  std::vector<int64_t> starts(batch_size);
  const uint64_t range = static_cast<uint64_t>(num_tokens - context);  // starts 0 .. n-C-1
  for (int i = 0; i < batch_size; ++i) {
    Rng rng(Rng::Mix(seed, static_cast<uint64_t>(step) * 1000003ULL + static_cast<uint64_t>(i)));
    starts[i] = static_cast<int64_t>(rng.Below(range));
  }
  return starts;
}

Batch MakeBatch(const torch::Tensor& tokens, const std::vector<int64_t>& starts, int context,
                std::optional<int32_t> bos) {
  const int64_t b = static_cast<int64_t>(starts.size());
  auto idx = torch::empty({b, context + 1}, torch::kInt64);
  auto* p = idx.data_ptr<int64_t>();
  for (int64_t i = 0; i < b; ++i)
    for (int t = 0; t <= context; ++t) p[i * (context + 1) + t] = starts[i] + t;
  auto windows = tokens.index({idx});
  Batch batch;
  batch.starts = starts;
  if (bos) {
    batch.y = windows.narrow(1, 0, context).contiguous();
    batch.x =
        torch::cat({torch::full({b, 1}, *bos, torch::kInt64), windows.narrow(1, 0, context - 1)}, 1)
            .contiguous();
    return batch;
  }
  batch.x = windows.narrow(1, 0, context).contiguous();
  batch.y = windows.narrow(1, 1, context).contiguous();
  return batch;
}

std::vector<int64_t> EvalStarts(int64_t num_tokens, int context, int64_t eval_tokens) {
  const int64_t last = num_tokens - context - 1;  // largest valid start
  if (last < 0) return {};
  int64_t want = std::max<int64_t>(1, (eval_tokens + context - 1) / context);
  want = std::min(want, std::max<int64_t>(1, (num_tokens - 1) / context));
  std::vector<int64_t> starts(want);
  for (int64_t i = 0; i < want; ++i) starts[i] = want == 1 ? 0 : i * last / (want - 1);
  return starts;
}

}  // namespace kdnas
