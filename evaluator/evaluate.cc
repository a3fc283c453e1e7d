#include "evaluator/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <vector>

namespace kdnas {

QualityMetrics EvaluateQuality(const LogitsFn& student, const torch::Tensor& x,
                               const torch::Tensor& y, const TeacherTargets& teacher,
                               int batch_size) {
  torch::NoGradGuard no_grad;
  QualityMetrics m;
  double ce_sum = 0, kl_sum = 0, agree = 0;
  const int64_t n = x.size(0);
  for (int64_t i = 0; i < n; i += batch_size) {
    const int64_t b = std::min<int64_t>(batch_size, n - i);
    auto logits = student(x.narrow(0, i, b));
    const int64_t V = logits.size(-1);
    auto logp = torch::log_softmax(logits.reshape({-1, V}), -1);
    auto targets = y.narrow(0, i, b).reshape({-1});
    ce_sum += -logp.gather(1, targets.unsqueeze(1)).sum().item<double>();
    if (teacher.full()) {
      auto t = teacher.logprobs.narrow(0, i, b).reshape({-1, V});
      kl_sum += (t.exp() * (t - logp)).sum().item<double>();
      agree += (t.argmax(-1) == logp.argmax(-1)).sum().item<double>();
    } else if (teacher.defined()) {
      const TeacherTargets w = teacher.Windows(i, b);
      const int64_t k = w.topk_index.size(-1);
      auto index = w.topk_index.reshape({-1, k});
      auto t = torch::cat({w.topk_logprobs.reshape({-1, k}), w.rest_logprob.reshape({-1, 1})}, -1);
      auto s_top = logp.gather(1, index);
      auto s_rest = torch::log1p(-s_top.exp().sum(-1, true).clamp_max(1.0 - 1e-6));
      auto s = torch::cat({s_top, s_rest}, -1);
      kl_sum += (t.exp() * (t - s)).sum().item<double>();
      agree += (index.select(1, 0) == logp.argmax(-1)).sum().item<double>();
    }
    m.tokens += targets.numel();
  }
  if (m.tokens == 0) return m;
  m.val_loss = ce_sum / static_cast<double>(m.tokens);
  m.perplexity = std::exp(m.val_loss);
  if (teacher.defined()) {
    m.kl_to_teacher = kl_sum / static_cast<double>(m.tokens);
    m.teacher_agreement = agree / static_cast<double>(m.tokens);
  }
  return m;
}

double ValidationLoss(const LogitsFn& student, const torch::Tensor& x, const torch::Tensor& y,
                      int batch_size) {
  return EvaluateQuality(student, x, y, TeacherTargets(), batch_size).val_loss;
}

torch::Tensor LogProbs(const LogitsFn& model, const torch::Tensor& x, int batch_size) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += batch_size) {
    const int64_t b = std::min<int64_t>(batch_size, x.size(0) - i);
    parts.push_back(torch::log_softmax(model(x.narrow(0, i, b)).to(torch::kFloat), -1));
  }
  return torch::cat(parts, 0);
}

LatencyMetrics MeasureLatency(const LogitsFn& model, int context, int new_tokens, int repeats) {
  torch::NoGradGuard no_grad;
  auto run = [&]() {
    std::vector<int64_t> ids = {0};
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < new_tokens; ++i) {
      const int64_t len = std::min<int64_t>(static_cast<int64_t>(ids.size()), context);
      auto idx = torch::from_blob(ids.data() + ids.size() - len, {1, len}, torch::kInt64);
      auto logits = model(idx);
      ids.push_back(logits.select(1, len - 1).argmax(-1).item<int64_t>());
    }
    auto end = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::milli>(end - start).count() / new_tokens;
  };
  run();  // warm-up
  std::vector<double> ms;
  for (int r = 0; r < std::max(1, repeats); ++r) ms.push_back(run());
  std::sort(ms.begin(), ms.end());
  LatencyMetrics out;
  out.latency_ms = ms[ms.size() / 2];
  out.tokens_per_second = out.latency_ms > 0 ? 1000.0 / out.latency_ms : 0;
  return out;
}

int64_t FileSizeBytes(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(size);
}

}  // namespace kdnas
