#include "proto/api_convert.h"

#include <algorithm>

#include "search/job_defaults.h"

namespace kdnas {
namespace {

ParameterConfig ParameterFromProto(const v1::Parameter& p) {
  ParameterConfig c;
  c.name = p.name();
  switch (p.domain_case()) {
    case v1::Parameter::kIntegerRange:
      c = ParameterConfig::Integer(p.name(), p.integer_range().min(), p.integer_range().max(),
                                   p.integer_range().step() ? p.integer_range().step() : 1,
                                   p.integer_range().log_scale());
      break;
    case v1::Parameter::kDoubleRange:
      c = ParameterConfig::Double(p.name(), p.double_range().min(), p.double_range().max(),
                                  p.double_range().log_scale());
      break;
    case v1::Parameter::kDiscrete:
      c = ParameterConfig::Discrete(p.name(),
                                    {p.discrete().values().begin(), p.discrete().values().end()});
      break;
    case v1::Parameter::kCategorical:
      c = ParameterConfig::Categorical(
          p.name(), {p.categorical().values().begin(), p.categorical().values().end()});
      break;
    case v1::Parameter::DOMAIN_NOT_SET:
      // An empty discrete domain: SearchSpace::Create names the field.
      c = ParameterConfig::Discrete(p.name(), {});
      break;
  }
  return c;
}

}  // namespace

Architecture ArchitectureFromProto(const v1::Architecture& p) {
  Architecture a;
  a.num_layers = p.num_layers() ? p.num_layers() : 4;
  a.d_model = p.d_model() ? p.d_model() : 128;
  a.num_heads = p.num_heads() ? p.num_heads() : 4;
  a.d_ff = p.d_ff() ? p.d_ff() : 4 * a.d_model;
  a.context_length = p.context_length() ? p.context_length() : 64;
  a.tie_embeddings = p.tie_embeddings();
  a.family = FamilyFromProto(p.family());
  a.num_kv_heads = p.num_kv_heads();
  a.fixed_head_dim = p.head_dim();
  for (const auto& l : p.layers()) {
    a.layers.push_back({l.num_heads() ? l.num_heads() : a.num_heads, l.d_ff() ? l.d_ff() : a.d_ff,
                        l.num_kv_heads()});
  }
  return a;
}

BlockFamily FamilyFromProto(const v1::Family& p) {
  BlockFamily f;
  f.kind = static_cast<FamilyKind>(p.kind());
  f.norm_eps = p.norm_eps() != 0 ? p.norm_eps() : 1e-5;
  const v1::Rope& r = p.rope();
  f.rope.scaling = static_cast<Rope::Scaling>(r.scaling());
  f.rope.theta = r.theta() != 0 ? r.theta() : 10000.0;
  f.rope.factor = r.factor() != 0 ? r.factor() : 1.0;
  f.rope.low_freq_factor = r.low_freq_factor() != 0 ? r.low_freq_factor() : 1.0;
  f.rope.high_freq_factor = r.high_freq_factor() != 0 ? r.high_freq_factor() : 4.0;
  f.rope.original_max_position_embeddings = r.original_max_position_embeddings();
  return f;
}

v1::Family FamilyToProto(const BlockFamily& f) {
  v1::Family p;
  p.set_kind(static_cast<v1::FamilyKind>(f.kind));
  p.set_norm_eps(f.norm_eps);
  if (f.llama()) {
    v1::Rope* r = p.mutable_rope();
    r->set_scaling(static_cast<v1::Rope::Scaling>(f.rope.scaling));
    r->set_theta(f.rope.theta);
    r->set_factor(f.rope.factor);
    r->set_low_freq_factor(f.rope.low_freq_factor);
    r->set_high_freq_factor(f.rope.high_freq_factor);
    r->set_original_max_position_embeddings(f.rope.original_max_position_embeddings);
  }
  return p;
}

v1::Architecture ArchitectureToProto(const Architecture& a) {
  v1::Architecture p;
  p.set_num_layers(a.num_layers);
  p.set_d_model(a.d_model);
  p.set_num_heads(a.num_heads);
  p.set_d_ff(a.d_ff);
  p.set_context_length(a.context_length);
  p.set_tie_embeddings(a.tie_embeddings);
  // kdnas's own GPT-2 blocks (the default) leave the message unset.
  if (!(a.family == BlockFamily{})) *p.mutable_family() = FamilyToProto(a.family);
  p.set_num_kv_heads(a.num_kv_heads);
  p.set_head_dim(a.fixed_head_dim);
  for (const auto& l : a.layers) {
    auto* e = p.add_layers();
    e->set_num_heads(l.num_heads);
    e->set_d_ff(l.d_ff);
    e->set_num_kv_heads(l.num_kv_heads);
  }
  return p;
}

namespace {

GgufFormatNames FormatNamesOf(const v1::Compression& q) {
  return {q.weight_format(), q.attention_format(), q.ffn_format(), q.embedding_format(),
          q.output_format()};
}

}  // namespace

Status CheckFormatNames(const v1::Compression& proto, const std::string& at) {
  const std::string p = at + ".";
  return ParseGgufFormats(FormatNamesOf(proto),
                          {p + "weight_format", p + "attention_format", p + "ffn_format",
                           p + "embedding_format", p + "output_format"})
      .status();
}

Candidate CandidateFromProto(const v1::Candidate& p) {
  Candidate c;
  c.architecture = ArchitectureFromProto(p.architecture());
  const auto& q = p.compression();
  c.compression.weight_bits = q.weight_bits() ? q.weight_bits() : 16;
  c.compression.group_size = q.group_size() ? q.group_size() : 128;
  c.compression.embedding_bits = q.embedding_bits() ? q.embedding_bits() : 16;
  c.compression.sparsity = q.sparsity();
  c.compression.sparsity_pattern = static_cast<SparsityPattern>(q.sparsity_pattern());
  c.compression.low_rank_ratio = q.low_rank_ratio();
  if (auto formats = ParseGgufFormats(FormatNamesOf(q)); formats.ok())
    c.compression.gguf = *formats;
  const auto& d = p.distillation();
  c.distillation.temperature = d.temperature() != 0 ? d.temperature() : 2.0;
  c.distillation.alpha = d.has_alpha() ? d.alpha() : 0.5;
  c.distillation.init = d.init() == v1::INIT_INHERIT ? Init::kInherit : Init::kScratch;
  return c;
}

v1::Candidate CandidateToProto(const Candidate& c) {
  v1::Candidate p;
  *p.mutable_architecture() = ArchitectureToProto(c.architecture);
  auto* q = p.mutable_compression();
  q->set_weight_bits(c.compression.weight_bits);
  q->set_group_size(c.compression.group_size);
  q->set_embedding_bits(c.compression.embedding_bits);
  q->set_sparsity(c.compression.sparsity);
  q->set_sparsity_pattern(static_cast<v1::SparsityPattern>(c.compression.sparsity_pattern));
  q->set_low_rank_ratio(c.compression.low_rank_ratio);
  const GgufFormatNames formats = GgufFormatNamesOf(c.compression.gguf);
  q->set_weight_format(formats.weight_format);
  q->set_attention_format(formats.attention_format);
  q->set_ffn_format(formats.ffn_format);
  q->set_embedding_format(formats.embedding_format);
  q->set_output_format(formats.output_format);
  auto* d = p.mutable_distillation();
  d->set_temperature(c.distillation.temperature);
  d->set_alpha(c.distillation.alpha);
  d->set_init(c.distillation.init == Init::kInherit ? v1::INIT_INHERIT : v1::INIT_SCRATCH);
  return p;
}

SearchSpaceSpec SearchSpaceSpecFromProto(const v1::SearchSpace& p) {
  SearchSpaceSpec spec;
  spec.base = CandidateFromProto(p.base());
  if (p.base().architecture().d_ff() == 0) spec.base.architecture.d_ff = 0;
  for (const auto& param : p.parameters()) spec.parameters.push_back(ParameterFromProto(param));
  for (const auto& point : p.points_to_evaluate())
    spec.points_to_evaluate.emplace_back(point.values().begin(), point.values().end());
  return spec;
}

Constraints ConstraintsFromProto(const v1::Constraints& p) {
  Constraints c;
  c.max_size_bytes = p.max_size_bytes();
  c.max_params = p.max_params();
  c.max_flops_per_token = p.max_flops_per_token();
  c.max_latency_ms = p.max_latency_ms();
  return c;
}

MetricValues MetricValuesFromProto(const v1::TrialMetrics& m) {
  MetricValues values;
  const auto* d = m.GetDescriptor();
  const auto* refl = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (f->has_presence() && !refl->HasField(m, f)) continue;  // not measured
    values[f->name()] = f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE
                            ? refl->GetDouble(m, f)
                            : static_cast<double>(refl->GetInt64(m, f));
  }
  return values;
}

std::vector<ObjectiveSpec> ObjectivesFromProto(const v1::JobSpec& spec) {
  std::vector<ObjectiveSpec> objectives;
  for (const auto& o : spec.objectives()) {
    objectives.emplace_back(o.metric(), o.direction() == v1::DIRECTION_MAXIMIZE);
    if (o.has_threshold()) objectives.back().threshold = o.threshold();
  }
  return objectives;
}

v1::JobSpec ApplyJobDefaults(v1::JobSpec spec) {
  if (spec.data().validation_fraction() == 0)
    spec.mutable_data()->set_validation_fraction(defaults::kValidationFraction);
  if (spec.objectives_size() == 0) {
    spec.add_objectives()->set_metric("val_loss");
    spec.add_objectives()->set_metric("size_bytes");
  }
  auto* b = spec.mutable_budget();
  if (b->max_trials() == 0) b->set_max_trials(defaults::kMaxTrials);
  if (b->train_steps() == 0) b->set_train_steps(defaults::kTrainSteps);
  if (b->batch_size() == 0) b->set_batch_size(defaults::kBatchSize);
  if (b->max_attempts() == 0) b->set_max_attempts(defaults::kMaxAttempts);
  if (b->eval_tokens() == 0) b->set_eval_tokens(defaults::kEvalTokens);
  if (b->learning_rate() == 0) b->set_learning_rate(defaults::kLearningRate);
  auto* s = spec.mutable_strategy();
  if (s->name().empty()) s->set_name("nsga2");
  // The best measured configuration is the default: an absent message means
  // on, {enabled: false} off.
  if (!s->has_multi_fidelity()) s->mutable_multi_fidelity()->set_enabled(true);
  if (!s->has_predictor()) s->mutable_predictor()->set_enabled(true);
  auto* mf = s->mutable_multi_fidelity();
  if (mf->enabled()) {
    if (mf->rung_steps_size() == 0) {
      const int64_t steps = b->train_steps();
      if (steps / 9 >= 1) mf->add_rung_steps(steps / 9);
      if (steps / 3 > steps / 9) mf->add_rung_steps(steps / 3);
    }
    if (mf->reduction_factor() == 0) mf->set_reduction_factor(defaults::kReductionFactor);
    if (mf->keep_ranks() == 0) mf->set_keep_ranks(defaults::kKeepRanks);
    if (mf->min_trials_per_rung() == 0) mf->set_min_trials_per_rung(defaults::kMinTrialsPerRung);
  }
  if (s->predictor().enabled() && s->predictor().oversample() == 0)
    s->mutable_predictor()->set_oversample(defaults::kOversample);
  auto* pass = spec.mutable_teacher_pass();
  if (pass->top_k() == 0) pass->set_top_k(defaults::kTopK);
  if (pass->steps_per_shard() == 0) {
    const int64_t n = defaults::kTeacherShards;
    pass->set_steps_per_shard(std::max<int64_t>(1, (b->train_steps() + n - 1) / n));
  }
  return spec;
}

StrategyOptions StrategyOptionsFromProto(const v1::JobSpec& spec) {
  StrategyOptions o;
  const auto& s = spec.strategy();
  o.name = s.name().empty() ? "nsga2" : s.name();
  o.seed = spec.seed();
  if (o.name == "nsga2") {
    o.population_size = s.nsga2().population_size();
    if (s.nsga2().has_crossover_probability())
      o.crossover_probability = s.nsga2().crossover_probability();
    if (s.nsga2().has_mutation_probability())
      o.mutation_probability = s.nsga2().mutation_probability();
  } else if (o.name == "regularized_evolution") {
    o.population_size = s.regularized_evolution().population_size();
    o.sample_size = s.regularized_evolution().sample_size();
  }
  return o;
}

}  // namespace kdnas
