#include "workers/generate.h"

#include <algorithm>

#include "search/rng.h"

namespace kdnas {

StatusOr<std::string> Generate(Teacher& model, const GenerateOptions& o) {
  if (o.tokens < 0) return InvalidArgument("--tokens: must be >= 0");
  if (o.temperature < 0) return InvalidArgument("--temperature: must be >= 0");
  auto prompt = model.tokenizer().Encode(o.prompt.empty() ? "\n" : o.prompt);
  if (!prompt.ok()) return InvalidArgument("--prompt: " + prompt.status().message());
  const int context =
      o.context > 0 ? o.context : (model.context_length() > 0 ? model.context_length() : 64);
  std::vector<int64_t> ids(prompt->begin(), prompt->end());
  // As the model was trained: each window starts with BOS when the
  // tokenizer adds one.
  if (auto bos = model.tokenizer().bos_to_add()) ids.insert(ids.begin(), *bos);
  std::vector<int32_t> generated;
  Rng rng(o.seed);
  for (int i = 0; i < o.tokens; ++i) {
    const int64_t len = std::min<int64_t>(static_cast<int64_t>(ids.size()), context);
    auto idx = torch::from_blob(ids.data() + ids.size() - len, {1, len}, torch::kInt64).clone();
    KDNAS_ASSIGN_OR_RETURN(torch::Tensor logits, model.Logits(idx));
    auto last = logits[0][len - 1];
    int64_t next = 0;
    if (o.temperature == 0) {
      next = last.argmax().item<int64_t>();
    } else {
      auto scaled = last / o.temperature;
      if (o.top_k > 0 && o.top_k < scaled.size(0)) {
        auto kth = std::get<0>(scaled.topk(o.top_k)).min();
        scaled = scaled.masked_fill(scaled < kth, -std::numeric_limits<float>::infinity());
      }
      auto probs = torch::softmax(scaled, -1).contiguous();
      const float* p = probs.data_ptr<float>();
      double u = rng.Uniform(), acc = 0;
      next = probs.size(0) - 1;
      for (int64_t v = 0; v < probs.size(0); ++v) {
        acc += p[v];
        if (u < acc) {
          next = v;
          break;
        }
      }
    }
    ids.push_back(next);
    generated.push_back(static_cast<int32_t>(next));
  }
  return o.prompt + model.tokenizer().Decode(generated);
}

}  // namespace kdnas
