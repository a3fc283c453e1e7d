#include "workers/teacher_cache.h"

#include <cmath>

namespace kdnas {
namespace {

uint64_t Key(int64_t start, int64_t context) {
  return (static_cast<uint64_t>(start) << 16) | static_cast<uint64_t>(context);
}

}  // namespace

TeacherCache::TeacherCache(int64_t vocab_size, TeacherCacheOptions options)
    : vocab_size_(vocab_size), options_(options), full_(vocab_size <= options.full_vocab_limit) {}

int64_t TeacherCache::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(entries_.size());
}

EncodedTargets EncodeTargets(const torch::Tensor& logp, bool full, int top_k) {
  EncodedTargets e;
  if (full) {
    e.a = logp.to(torch::kHalf).contiguous();
    return e;
  }
  auto [values, index] = logp.topk(top_k, -1);
  // log(1 - sum p_topk), clamped away from log(0).
  auto rest = torch::log1p(-values.exp().sum(-1).clamp_max(1.0 - 1e-6)).unsqueeze(-1);
  const torch::ScalarType ids = TopKIdType(logp.size(-1));
  // Ids from 32,768 on wrap to negative int16 values; reading takes them modulo 2^16.
  e.a = (ids == torch::kShort ? index - index.ge(32768).to(torch::kLong) * 65536 : index)
            .to(ids)
            .contiguous();
  e.b = torch::cat({values, rest}, -1).to(torch::kHalf).contiguous();
  return e;
}

torch::ScalarType TopKIdType(int64_t vocab_size) {
  return vocab_size <= 65536 ? torch::kShort : torch::kInt32;
}

TeacherTargets DecodeTargets(const std::vector<const EncodedTargets*>& windows, bool full) {
  const size_t B = windows.size();
  std::vector<torch::Tensor> a(B), b;
  for (size_t i = 0; i < B; ++i) a[i] = windows[i]->a;
  TeacherTargets out;
  if (full) {
    out.logprobs = torch::stack(a).to(torch::kFloat);
    return out;
  }
  b.resize(B);
  for (size_t i = 0; i < B; ++i) b[i] = windows[i]->b;
  auto packed = torch::stack(b).to(torch::kFloat);
  const int64_t k = packed.size(-1) - 1;
  out.topk_index = torch::stack(a).to(torch::kInt64);
  if (windows[0]->a.scalar_type() == torch::kShort) out.topk_index.bitwise_and_(0xFFFF);
  out.topk_logprobs = packed.narrow(-1, 0, k);
  out.rest_logprob = packed.select(-1, k);
  return out;
}

StatusOr<TeacherTargets> TeacherCache::Get(const torch::Tensor& tokens,
                                           const std::vector<int64_t>& starts,
                                           const torch::Tensor& x, const LogitsFn& teacher) {
  torch::NoGradGuard no_grad;
  const int64_t B = x.size(0), T = x.size(1);
  std::vector<const Entry*> found(B, nullptr);
  std::vector<int64_t> missing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fingerprint_ < 0) fingerprint_ = tokens.numel();
    if (fingerprint_ != tokens.numel()) {
      return FailedPrecondition("teacher cache: used with a different token stream");
    }
    for (int64_t i = 0; i < B; ++i) {
      auto it = entries_.find(Key(starts[i], T));
      if (it != entries_.end()) {
        found[i] = &it->second;
      } else {
        missing.push_back(i);
      }
    }
    hits_ += B - static_cast<int64_t>(missing.size());
    misses_ += static_cast<int64_t>(missing.size());
  }
  std::vector<Entry> computed(B);
  if (!missing.empty()) {
    auto rows = torch::tensor(missing, torch::kInt64);
    KDNAS_ASSIGN_OR_RETURN(torch::Tensor logits, teacher(x.index_select(0, rows)));
    auto logp = torch::log_softmax(logits.to(torch::kFloat), -1);
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t j = 0; j < missing.size(); ++j) {
      const int64_t i = missing[j];
      Entry e = EncodeTargets(logp[static_cast<int64_t>(j)], full_, options_.top_k);
      const int64_t size = e.bytes();
      if (bytes_ + size <= options_.max_bytes) {
        auto [it, inserted] = entries_.emplace(Key(starts[i], T), e);
        if (inserted) bytes_ += size;
        found[i] = &it->second;
      } else {
        computed[i] = e;
        found[i] = &computed[i];
      }
    }
  }
  // Entries are never erased, so the pointers stay valid without the lock.
  return DecodeTargets(found, full_);
}

torch::Tensor DistillationLoss(const torch::Tensor& student_logits, const torch::Tensor& targets,
                               const TeacherTargets& teacher, double temperature, double alpha,
                               double* kd, double* ce) {
  const int64_t V = student_logits.size(-1);
  auto flat = student_logits.reshape({-1, V});
  auto ce_loss = torch::nn::functional::cross_entropy(flat, targets.reshape({-1}));
  if (ce) *ce = ce_loss.item<double>();
  if (alpha <= 0) {
    if (kd) *kd = 0;
    return ce_loss;
  }
  const double inv_t = 1.0 / temperature;
  const int64_t N = flat.size(0);
  torch::Tensor kl;
  auto s_logp = torch::log_softmax(flat * inv_t, -1);
  if (teacher.full()) {
    auto t_logp = torch::log_softmax(teacher.logprobs.reshape({-1, V}) * inv_t, -1);
    kl = torch::kl_div(s_logp, t_logp, at::Reduction::Sum, /*log_target=*/true) /
         static_cast<double>(N);
  } else {
    // Top-k entries plus one bucket for the remaining mass. At T != 1 the
    // remaining mass is treated as spread evenly over the other V - k tokens.
    const int64_t k = teacher.topk_index.size(-1);
    auto idx = teacher.topk_index.reshape({-1, k});
    auto t_top = teacher.topk_logprobs.reshape({-1, k}) * inv_t;
    auto rest = teacher.rest_logprob.reshape({-1, 1});
    const double others = static_cast<double>(std::max<int64_t>(1, V - k));
    auto t_rest = (rest - std::log(others)) * inv_t + std::log(others);
    auto t_all = torch::log_softmax(torch::cat({t_top, t_rest}, -1), -1);
    auto s_top = s_logp.gather(1, idx);
    auto s_rest = torch::log1p(-s_top.exp().sum(-1, true).clamp_max(1.0 - 1e-6));
    auto s_all = torch::cat({s_top, s_rest}, -1);
    kl = torch::kl_div(s_all, t_all, at::Reduction::Sum, /*log_target=*/true) /
         static_cast<double>(N);
  }
  if (kd) *kd = kl.item<double>();
  return alpha * temperature * temperature * kl + (1.0 - alpha) * ce_loss;
}

}  // namespace kdnas
