#include "server/teacher_pass.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <set>

#include "proto/api_convert.h"
#include "search/job_defaults.h"
#include "search/search_space.h"
#include "search/sha256.h"

namespace kdnas {
namespace {

std::string Deterministic(const google::protobuf::Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream out(&stream);
  out.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&out);
  out.Trim();
  return bytes;
}

bool ByContent(const v1::FileRef& ref) { return ref.source_case() == v1::FileRef::kBlob; }

// The context lengths the space proposes, ascending; none when it proposes
// more than kMaxHeldOutContexts (or a real range).
std::vector<int> StudentContexts(const v1::JobSpec& spec) {
  auto space = SearchSpace::Create(SearchSpaceSpecFromProto(spec.space()));
  if (!space.ok()) return {};
  for (const ParameterConfig& p : space->parameters().parameters()) {
    if (p.name != "context_length") continue;
    const uint64_t count = p.Cardinality();
    auto values = ParameterSpace::Create({p});
    if (count == 0 || count > kMaxHeldOutContexts || !values.ok()) return {};
    std::set<int> contexts;
    for (uint64_t i = 0; i < count; ++i) contexts.insert(static_cast<int>(values->PointAt(i)[0]));
    return {contexts.begin(), contexts.end()};
  }
  const int base = space->base().architecture.context_length;
  if (base <= 0) return {};
  return {base};
}

}  // namespace

bool AnyStudentDistils(const v1::JobSpec& spec) {
  const auto& d = spec.space().base().distillation();
  if (!d.has_alpha() || d.alpha() > 0) return true;
  for (const auto& p : spec.space().parameters()) {
    if (p.name() == "alpha") return true;
  }
  return false;
}

TeacherPassPlan PlanTeacherPass(const v1::Job& job) {
  const v1::JobSpec& spec = job.spec();
  // What the teacher's outputs on the job's windows depend on. Inputs named
  // by path are not known by content: their pass is the job's own.
  std::string inputs = "kdnas-teacher-pass-v1\n" + Deterministic(spec.data()) + "\n" +
                       Deterministic(spec.teacher()) + "\n";
  const bool shareable = ByContent(spec.data().text()) &&
                         (ByContent(spec.teacher().model()) || ByContent(spec.teacher().hf()));
  if (!shareable) inputs += job.name() + "\n";
  TeacherPassPlan plan;
  plan.data_seed = std::stoull(Sha256Hex(inputs).substr(0, 15), nullptr, 16);
  if (spec.teacher_pass().per_worker() || !AnyStudentDistils(spec)) return plan;
  const int64_t steps = spec.budget().train_steps();
  const int64_t per_shard = std::max<int64_t>(1, spec.teacher_pass().steps_per_shard());
  const int64_t vocab = job.data_info().vocab_size();
  // The encoding: full log-probabilities or the top-k.
  const std::string encoding = vocab <= defaults::kFullVocabLimit
                                   ? "full"
                                   : "top-" + std::to_string(spec.teacher_pass().top_k());
  for (int64_t first = 0; first < steps; first += per_shard) {
    TeacherPassPlan::Shard shard;
    shard.first_step = first;
    shard.steps = std::min(per_shard, steps - first);
    shard.key = Sha256Hex(inputs + std::to_string(spec.budget().batch_size()) + " " + encoding +
                          " " + std::to_string(plan.data_seed) + " " + std::to_string(first) + " " +
                          std::to_string(shard.steps));
    plan.shards.push_back(shard);
  }
  for (int context : StudentContexts(spec)) {
    TeacherPassPlan::Shard shard;
    shard.steps = 1;
    shard.held_out_context = context;
    shard.key = Sha256Hex(inputs + "held-out " + std::to_string(context) + " " +
                          std::to_string(spec.budget().eval_tokens()) + " " + encoding);
    plan.shards.push_back(shard);
  }
  return plan;
}

}  // namespace kdnas
