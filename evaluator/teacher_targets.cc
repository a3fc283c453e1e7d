#include "evaluator/teacher_targets.h"

namespace kdnas {
namespace {

template <typename F>
TeacherTargets Map(const TeacherTargets& t, F f) {
  auto g = [&](const torch::Tensor& x) { return x.defined() ? f(x) : x; };
  return {g(t.logprobs), g(t.topk_index), g(t.topk_logprobs), g(t.rest_logprob)};
}

}  // namespace

TeacherTargets TeacherTargets::Prefix(int64_t length) const {
  return Map(*this, [length](const torch::Tensor& x) {
    return x.size(1) > length ? x.narrow(1, 0, length) : x;
  });
}

TeacherTargets TeacherTargets::Windows(int64_t start, int64_t count) const {
  return Map(*this, [=](const torch::Tensor& x) { return x.narrow(0, start, count); });
}

}  // namespace kdnas
