#include "workers/head_loss.h"

#include <algorithm>
#include <cmath>

namespace kdnas {
namespace {

constexpr int64_t kBlockBytes = int64_t{8} << 20;

// The teacher's side of the KL term, for all N rows: what DistillationLoss
// computes from the targets (no gradient flows into it).
struct TeacherSide {
  bool full = false;
  torch::Tensor logp, p;  // full: log-probabilities at T and probabilities [N, V]
  // top-k: ids [N, k]; the distribution over the k tokens and the rest
  // bucket at T, as log-probabilities and probabilities [N, k + 1].
  torch::Tensor index, all_logp, all_p;
};

TeacherSide TeacherSideOf(const TeacherTargets& teacher, int64_t n, int64_t vocab, double inv_t) {
  TeacherSide t;
  t.full = teacher.full();
  if (t.full) {
    t.logp = torch::log_softmax(teacher.logprobs.reshape({n, vocab}) * inv_t, -1);
    t.p = t.logp.exp();
    return t;
  }
  // Top-k entries plus one bucket for the remaining mass; at T != 1 the
  // remaining mass is treated as spread evenly over the other V - k tokens.
  const int64_t k = teacher.topk_index.size(-1);
  t.index = teacher.topk_index.reshape({n, k});
  const double others = static_cast<double>(std::max<int64_t>(1, vocab - k));
  auto top = teacher.topk_logprobs.reshape({n, k}) * inv_t;
  auto rest = (teacher.rest_logprob.reshape({n, 1}) - std::log(others)) * inv_t + std::log(others);
  t.all_logp = torch::log_softmax(torch::cat({top, rest}, -1), -1);
  t.all_p = t.all_logp.exp();
  return t;
}

struct Sums {
  double ce = 0, kl = 0;
};

// Turns z, rows [begin, begin + n) of the logits, in place into
// d(loss)/d(logits). With p = softmax(z), q = softmax(z / T) and the
// teacher's t at T:
//   CE:            (1 - alpha) / N * (p - onehot(y))
//   KL, full:      alpha * T / N * (q - t)
//   KL, top-k:     alpha * T / N * (c * q + [m in top] (r * q_m - t_m)),
// where, with P the student's mass on the top k and t_rest the teacher's
// rest bucket, r = t_rest / (1 - P) and c = 1 - t_rest - r * P (so a top
// entry's gradient is q_m - t_m and another's c * q_m); r = 0 where P is
// clamped below 1, as the reference's clamp_max stops the gradient there.
void BlockToGradient(torch::Tensor z, const torch::Tensor& y, const TeacherSide& teacher,
                     int64_t begin, int64_t n, double inv_t, double ce_coef, double kd_coef,
                     Sums* sums) {
  z.sub_(std::get<0>(z.max(1, true)));  // shifted logits from here on
  const torch::Tensor z_y = z.gather(1, y);
  torch::Tensor q, kd_top;  // top-k: the values the top entries' gradients add
  torch::Tensor top_index;
  if (kd_coef != 0) {
    q = z.mul(inv_t).exp_();
    const torch::Tensor sum_t = q.sum(1, true);
    q.div_(sum_t);
    const torch::Tensor lse_t = sum_t.log();  // of z / T
    if (teacher.full) {
      const torch::Tensor t_logp = teacher.logp.narrow(0, begin, n);
      const torch::Tensor t_p = teacher.p.narrow(0, begin, n);
      // sum t (log t - (z / T - lse_t)), sum t = 1
      sums->kl += ((t_p * t_logp).sum() - inv_t * (t_p * z).sum() + lse_t.sum()).item<double>();
      q.sub_(t_p);
      q.mul_(kd_coef);
    } else {
      top_index = teacher.index.narrow(0, begin, n);
      const torch::Tensor all_logp = teacher.all_logp.narrow(0, begin, n);
      const torch::Tensor all_p = teacher.all_p.narrow(0, begin, n);
      const int64_t k = top_index.size(1);
      const torch::Tensor s_top = z.gather(1, top_index).mul_(inv_t).sub_(lse_t);
      const torch::Tensor p_top = s_top.exp();
      const torch::Tensor mass = p_top.sum(1, true);
      constexpr double kMaxMass = 1.0 - 1e-6;
      const torch::Tensor s_rest = torch::log1p(-mass.clamp_max(kMaxMass));
      sums->kl += (all_p * (all_logp - torch::cat({s_top, s_rest}, 1))).sum().item<double>();
      const torch::Tensor t_top = all_p.narrow(1, 0, k);
      const torch::Tensor t_rest = all_p.narrow(1, k, 1);
      const torch::Tensor r =
          torch::where(mass > kMaxMass, torch::zeros_like(mass), t_rest / (1.0 - mass));
      q.mul_((1.0 - t_rest - r * mass) * kd_coef);
      kd_top = (p_top * r - t_top) * kd_coef;
    }
  }
  z.exp_();
  const torch::Tensor sum_1 = z.sum(1, true);
  z.div_(sum_1);
  sums->ce += (sum_1.log() - z_y).sum().item<double>();
  z.mul_(ce_coef);
  z.scatter_add_(1, y, torch::full({n, 1}, -ce_coef, z.options()));
  if (q.defined()) z.add_(q);
  if (kd_top.defined()) z.scatter_add_(1, top_index, kd_top);
}

// What the node needs besides its two differentiable inputs; it reports
// the mean terms back.
struct Call {
  const torch::Tensor* targets;
  const TeacherTargets* teacher;
  HeadLossOptions options;
  double kd = 0, ce = 0;
};

class HeadLossNode : public torch::autograd::Function<HeadLossNode> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& hidden,
                               const torch::Tensor& weight, Call* call) {
    const HeadLossOptions& o = call->options;
    const int64_t d = hidden.size(-1), vocab = weight.size(0);
    const torch::Tensor h = hidden.reshape({-1, d});
    const int64_t n = h.size(0);
    const torch::Tensor y = call->targets->reshape({n, 1});
    const bool kd = o.alpha > 0;
    const double inv_t = 1.0 / o.temperature;
    const TeacherSide teacher = kd ? TeacherSideOf(*call->teacher, n, vocab, inv_t) : TeacherSide{};
    const double ce_coef = (kd ? 1.0 - o.alpha : 1.0) / static_cast<double>(n);
    const double kd_coef = kd ? o.alpha * o.temperature / static_cast<double>(n) : 0.0;

    torch::Tensor logits = torch::mm(h, weight.t());  // becomes d(loss)/d(logits)
    const int64_t rows = o.block_rows > 0
                             ? o.block_rows
                             : std::max<int64_t>(1, kBlockBytes / (vocab * logits.element_size()));
    Sums sums;
    for (int64_t begin = 0; begin < n; begin += rows) {
      const int64_t count = std::min(rows, n - begin);
      BlockToGradient(logits.narrow(0, begin, count), y.narrow(0, begin, count), teacher, begin,
                      count, inv_t, ce_coef, kd_coef, &sums);
    }
    call->ce = sums.ce / static_cast<double>(n);
    call->kd = sums.kl / static_cast<double>(n);
    const double value =
        kd ? o.alpha * o.temperature * o.temperature * call->kd + (1.0 - o.alpha) * call->ce
           : call->ce;
    if (hidden.requires_grad())
      ctx->saved_data["grad_hidden"] = torch::mm(logits, weight).reshape(hidden.sizes());
    if (weight.requires_grad()) ctx->saved_data["grad_weight"] = torch::mm(logits.t(), h);
    return torch::scalar_tensor(value, hidden.options());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_output) {
    const torch::Tensor& g = grad_output[0];
    auto scaled = [&](const char* name) {
      auto it = ctx->saved_data.find(name);
      return it == ctx->saved_data.end() ? torch::Tensor() : it->second.toTensor() * g;
    };
    return {scaled("grad_hidden"), scaled("grad_weight"), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor HeadDistillationLoss(const torch::Tensor& hidden, const torch::Tensor& weight,
                                   const torch::Tensor& targets, const TeacherTargets& teacher,
                                   const HeadLossOptions& options, double* kd, double* ce) {
  Call call{&targets, &teacher, options};
  torch::Tensor loss = HeadLossNode::apply(hidden, weight, &call);
  if (kd) *kd = call.kd;
  if (ce) *ce = call.ce;
  return loss;
}

}  // namespace kdnas
