#include "workers/gguf_quantize.h"

#include <ATen/Parallel.h>

#include "formats/ggml_quants.h"

namespace kdnas {

torch::Tensor GgufRoundTrip(const torch::Tensor& w, GgmlType type) {
  torch::NoGradGuard no_grad;
  if (type == GgmlType::kF32) return w.detach().clone();
  torch::Tensor rows = w.detach().to(torch::kFloat).contiguous().clone();
  const int64_t cols = rows.size(-1), count = rows.numel() / cols;
  float* data = rows.data_ptr<float>();
  // The reference quantizers are scalar code: spread the rows over the threads.
  at::parallel_for(0, count, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      FakeQuantizeRow(type, data + r * cols, cols, data + r * cols);
  });
  return rows;
}

torch::Tensor GgufFakeQuantize(const torch::Tensor& w, GgmlType type) {
  if (type == GgmlType::kF32) return w;
  // Exactly the round trip's values (w - w.detach() is zero), w's gradient.
  return GgufRoundTrip(w, type) + (w - w.detach());
}

}  // namespace kdnas
