#include "server/job_validation.h"

#include <cmath>
#include <set>

#include "formats/hf_kdnas_architecture.h"
#include "proto/api_convert.h"
#include "proto/tokenizer_kind_name.h"
#include "search/feasibility.h"
#include "search/job_defaults.h"
#include "search/metrics.h"
#include "search/number_text.h"
#include "search/search_space.h"
#include "search/sha256.h"

namespace kdnas {
namespace {

Status Bad(const std::string& field, const std::string& why) {
  return InvalidArgument("spec." + field + ": " + why);
}

Status CheckInt(const std::string& field, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) {
    return Bad(field, "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + " (got " +
                          std::to_string(v) + ")");
  }
  return Status::Ok();
}

Status CheckDouble(const std::string& field, double v, double lo, double hi) {
  if (!std::isfinite(v)) return Bad(field, "must be a finite number (got " + NumberText(v) + ")");
  if (v < lo || v > hi)
    return Bad(field, "must be in [" + NumberText(lo) + ", " + NumberText(hi) + "] (got " +
                          NumberText(v) + ")");
  return Status::Ok();
}

Status CheckString(const std::string& field, const std::string& s, size_t max) {
  if (s.size() > max)
    return Bad(field, "at most " + std::to_string(max) + " characters (got " +
                          std::to_string(s.size()) + ")");
  if (s.find('\0') != std::string::npos) return Bad(field, "must not contain NUL characters");
  return Status::Ok();
}

Status CheckFile(const std::string& field, const v1::FileRef& ref, const JobLimits& limits) {
  switch (ref.source_case()) {
    case v1::FileRef::kBlob: {
      const std::string& b = ref.blob();
      if (b.rfind("blobs/", 0) != 0 || !IsSha256Hex(b.substr(6))) {
        return Bad(field + ".blob", "must be \"blobs/\" followed by a lower-case sha256 (got \"" +
                                        b.substr(0, 80) + "\")");
      }
      return Status::Ok();
    }
    case v1::FileRef::kPath:
      if (ref.path().empty()) return Bad(field + ".path", "must not be empty");
      return CheckString(field + ".path", ref.path(), limits.max_string_length);
    case v1::FileRef::SOURCE_NOT_SET:
      break;
  }
  return Bad(field, "is required: set blob (from kdnas upload) or path");
}

// Exactly one of teacher.model and teacher.hf, and a data.tokenizer that
// kind of teacher can have (job_inputs.cc checks it is the teacher's own).
Status CheckTeacher(const v1::JobSpec& spec, const JobLimits& limits) {
  const bool model = spec.teacher().has_model();
  const bool hf = spec.teacher().has_hf();
  if (model && hf) {
    return Bad("teacher.hf",
               "a job has one teacher: set teacher.model (a kdnas TorchScript teacher) or "
               "teacher.hf (a Hugging Face checkpoint), not both");
  }
  if (!model && !hf) {
    return Bad("teacher",
               "is required: teacher.model (a kdnas TorchScript teacher) or teacher.hf (a Hugging "
               "Face checkpoint directory, or a tar of one)");
  }
  KDNAS_RETURN_IF_ERROR(CheckFile(hf ? "teacher.hf" : "teacher.model",
                                  hf ? spec.teacher().hf() : spec.teacher().model(), limits));
  if (!spec.data().has_tokenizer()) return Status::Ok();
  const v1::TokenizerKind kind = spec.data().tokenizer();
  const bool imported = kind == v1::TOKENIZER_KIND_BPE || kind == v1::TOKENIZER_KIND_SENTENCEPIECE;
  if (hf && !imported) {
    return Bad(
        "data.tokenizer",
        TokenizerKindName(kind) +
            std::string(" is kdnas's own tokenizer; a Hugging Face teacher (teacher.hf) "
                        "brings its own (bpe or sentencepiece): leave data.tokenizer unset"));
  }
  if (model && imported) {
    return Bad("data.tokenizer",
               TokenizerKindName(kind) +
                   std::string(" is the tokenizer of a Hugging Face teacher (teacher.hf); a "
                               "teacher.model's is char or byte: leave data.tokenizer unset"));
  }
  return Status::Ok();
}

Status CheckStrategy(const v1::JobSpec& spec, const JobLimits& limits) {
  const auto& s = spec.strategy();
  KDNAS_RETURN_IF_ERROR(CheckString("strategy.name", s.name(), 64));
  const std::string name = s.name().empty() ? "nsga2" : s.name();
  bool known = false;
  for (const auto& n : StrategyNames()) known |= n == name;
  if (!known) {
    return Bad("strategy.name", "unknown strategy \"" + s.name() +
                                    "\" (known: random, regularized_evolution, nsga2)");
  }
  KDNAS_RETURN_IF_ERROR(
      CheckInt("strategy.nsga2.population_size", s.nsga2().population_size(), 0, 100000));
  if (s.nsga2().population_size() != 0 && s.nsga2().population_size() < 4) {
    return Bad("strategy.nsga2.population_size",
               "must be >= 4 (got " + std::to_string(s.nsga2().population_size()) + ")");
  }
  if (s.nsga2().has_crossover_probability()) {
    KDNAS_RETURN_IF_ERROR(CheckDouble("strategy.nsga2.crossover_probability",
                                      s.nsga2().crossover_probability(), 0, 1));
  }
  if (s.nsga2().has_mutation_probability()) {
    KDNAS_RETURN_IF_ERROR(
        CheckDouble("strategy.nsga2.mutation_probability", s.nsga2().mutation_probability(), 0, 1));
  }
  const auto& re = s.regularized_evolution();
  KDNAS_RETURN_IF_ERROR(
      CheckInt("strategy.regularized_evolution.population_size", re.population_size(), 0, 100000));
  if (re.population_size() == 1)
    return Bad("strategy.regularized_evolution.population_size", "must be >= 2 (got 1)");
  int population = re.population_size() ? re.population_size() : 16;
  KDNAS_RETURN_IF_ERROR(
      CheckInt("strategy.regularized_evolution.sample_size", re.sample_size(), 0, population));
  const auto& mf = s.multi_fidelity();
  if (static_cast<size_t>(mf.rung_steps_size()) > limits.max_rungs) {
    return Bad("strategy.multi_fidelity.rung_steps",
               "at most " + std::to_string(limits.max_rungs) + " rungs");
  }
  int64_t train_steps =
      spec.budget().train_steps() ? spec.budget().train_steps() : defaults::kTrainSteps;
  for (int i = 0; i < mf.rung_steps_size(); ++i) {
    const std::string field = "strategy.multi_fidelity.rung_steps[" + std::to_string(i) + "]";
    KDNAS_RETURN_IF_ERROR(CheckInt(field, mf.rung_steps(i), 1, train_steps - 1));
    if (i > 0 && mf.rung_steps(i) <= mf.rung_steps(i - 1)) return Bad(field, "rungs must increase");
  }
  KDNAS_RETURN_IF_ERROR(
      CheckInt("strategy.multi_fidelity.reduction_factor", mf.reduction_factor(), 0, 100));
  if (mf.reduction_factor() == 1)
    return Bad("strategy.multi_fidelity.reduction_factor", "must be >= 2 (got 1)");
  KDNAS_RETURN_IF_ERROR(CheckInt("strategy.multi_fidelity.keep_ranks", mf.keep_ranks(), 0, 1000));
  KDNAS_RETURN_IF_ERROR(
      CheckInt("strategy.multi_fidelity.min_trials_per_rung", mf.min_trials_per_rung(), 0, 100000));
  KDNAS_RETURN_IF_ERROR(
      CheckInt("strategy.predictor.oversample", s.predictor().oversample(), 0, 1000));
  return Status::Ok();
}

// The index in space.parameters of the searched knob `name`, or -1. A
// searched knob replaces the base's value.
int SearchedKnob(const v1::JobSpec& spec, const std::string& name) {
  for (int i = 0; i < spec.space().parameters_size(); ++i) {
    if (spec.space().parameters(i).name() == name) return i;
  }
  return -1;
}

std::string KnobField(int i) { return "space.parameters[" + std::to_string(i) + "]"; }

// The largest context_length the space proposes and the field that sets it.
struct LargestContext {
  int64_t value = 0;
  std::string field;
};

StatusOr<LargestContext> FindLargestContext(const v1::JobSpec& spec) {
  auto space = SearchSpace::Create(SearchSpaceSpecFromProto(spec.space()));
  if (!space.ok()) return InvalidArgument("spec." + space.status().message());
  if (const int i = SearchedKnob(spec, "context_length"); i >= 0) {
    const v1::Parameter& p = spec.space().parameters(i);
    const std::string field = KnobField(i);
    LargestContext largest;
    for (int j = 0; j < p.discrete().values_size(); ++j) {
      const auto value = static_cast<int64_t>(p.discrete().values(j));
      if (value > largest.value)
        largest = {value, field + ".discrete.values[" + std::to_string(j) + "]"};
    }
    if (p.has_integer_range()) {
      // The range's max, snapped to its step.
      largest = {static_cast<int64_t>(space->parameters().Snap(
                     static_cast<size_t>(i), static_cast<double>(p.integer_range().max()))),
                 field + ".integer_range.max"};
    }
    return largest;
  }
  return LargestContext{space->base().architecture.context_length,
                        "space.base.architecture.context_length"};
}

// The training windows' length and the field that sets it: data.window_length
// when set, else the largest context_length.
StatusOr<LargestContext> FindTrainingWindow(const v1::JobSpec& spec) {
  if (spec.data().window_length() > 0)
    return LargestContext{spec.data().window_length(), "data.window_length"};
  return FindLargestContext(spec);
}

// An objective's threshold: it bounds the predictors' (size_bytes, val_loss)
// front, so it means nothing on another metric or with the predictors off.
Status CheckThreshold(const v1::JobSpec& spec, const v1::Objective& o, const std::string& field) {
  if (o.metric() != "val_loss" && o.metric() != "size_bytes") {
    return Bad(field,
               "only val_loss and size_bytes take a threshold (the predictors rank "
               "proposals on size against loss); " +
                   o.metric() + " does not");
  }
  if (o.direction() != v1::DIRECTION_MINIMIZE)
    return Bad(field, "needs " + o.metric() + " minimized");
  if (spec.strategy().has_predictor() && !spec.strategy().predictor().enabled())
    return Bad(field, "steers the predictors, which strategy.predictor turns off");
  return CheckDouble(field, o.threshold(), o.metric() == "val_loss" ? 1e-9 : 1, 1e18);
}

constexpr int64_t kMaxWindowLength = 65536;

// data.window_length: unset, or from the largest context_length to kMaxWindowLength.
Status CheckWindowLength(const v1::JobSpec& spec) {
  const int64_t window = spec.data().window_length();
  KDNAS_RETURN_IF_ERROR(CheckInt("data.window_length", window, 0, kMaxWindowLength));
  if (window == 0) return Status::Ok();
  KDNAS_ASSIGN_OR_RETURN(LargestContext largest, FindLargestContext(spec));
  if (window >= largest.value) return Status::Ok();
  return Bad("data.window_length", std::to_string(window) +
                                       " is shorter than the space's largest context_length " +
                                       std::to_string(largest.value) + " (" + largest.field +
                                       "): students train on a prefix of each window");
}

}  // namespace

Status ValidateJobSpec(const v1::JobSpec& spec, const std::optional<ModelContext>& context,
                       const JobLimits& limits) {
  KDNAS_RETURN_IF_ERROR(
      CheckString("display_name", spec.display_name(), limits.max_display_name_length));
  // Data and teacher.
  if (!spec.has_data()) return Bad("data", "is required (data.text: the training corpus)");
  KDNAS_RETURN_IF_ERROR(CheckFile("data.text", spec.data().text(), limits));
  if (!v1::TokenizerKind_IsValid(spec.data().tokenizer())) {
    return Bad("data.tokenizer", "unknown value " + std::to_string(spec.data().tokenizer()));
  }
  if (spec.data().validation_fraction() != 0) {
    KDNAS_RETURN_IF_ERROR(
        CheckDouble("data.validation_fraction", spec.data().validation_fraction(), 1e-6, 0.5));
  }
  KDNAS_RETURN_IF_ERROR(CheckTeacher(spec, limits));
  // Objectives.
  if (static_cast<size_t>(spec.objectives_size()) > limits.max_objectives) {
    return Bad("objectives", "at most " + std::to_string(limits.max_objectives) +
                                 " objectives (got " + std::to_string(spec.objectives_size()) +
                                 ")");
  }
  std::set<std::string> metrics;
  for (int i = 0; i < spec.objectives_size(); ++i) {
    const auto& o = spec.objectives(i);
    const std::string field = "objectives[" + std::to_string(i) + "]";
    if (FindMetric(o.metric()) == nullptr) {
      return Bad(field + ".metric", "unknown metric \"" + o.metric().substr(0, 64) +
                                        "\" (known: " + MetricNames() + ")");
    }
    if (!metrics.insert(o.metric()).second)
      return Bad(field + ".metric", "\"" + o.metric() + "\" appears twice");
    if (!v1::Direction_IsValid(o.direction())) return Bad(field + ".direction", "unknown value");
    if (o.has_threshold()) KDNAS_RETURN_IF_ERROR(CheckThreshold(spec, o, field + ".threshold"));
  }
  // Constraints.
  const auto& c = spec.constraints();
  KDNAS_RETURN_IF_ERROR(CheckInt("constraints.max_size_bytes", c.max_size_bytes(), 0, INT64_MAX));
  KDNAS_RETURN_IF_ERROR(CheckInt("constraints.max_params", c.max_params(), 0, INT64_MAX));
  KDNAS_RETURN_IF_ERROR(
      CheckInt("constraints.max_flops_per_token", c.max_flops_per_token(), 0, INT64_MAX));
  KDNAS_RETURN_IF_ERROR(CheckDouble("constraints.max_latency_ms", c.max_latency_ms(), 0, 1e9));
  // Budget.
  const auto& b = spec.budget();
  KDNAS_RETURN_IF_ERROR(CheckInt("budget.max_trials", b.max_trials(), 0, limits.max_trials));
  KDNAS_RETURN_IF_ERROR(CheckDouble("budget.max_worker_seconds", b.max_worker_seconds(), 0, 1e12));
  KDNAS_RETURN_IF_ERROR(CheckInt("budget.train_steps", b.train_steps(), 0, limits.max_train_steps));
  KDNAS_RETURN_IF_ERROR(CheckInt("budget.batch_size", b.batch_size(), 0, limits.max_batch_size));
  KDNAS_RETURN_IF_ERROR(CheckInt("budget.max_attempts", b.max_attempts(), 0, limits.max_attempts));
  KDNAS_RETURN_IF_ERROR(CheckInt("budget.eval_tokens", b.eval_tokens(), 0, limits.max_eval_tokens));
  KDNAS_RETURN_IF_ERROR(CheckDouble("budget.learning_rate", b.learning_rate(), 0, 10));
  // Strategy.
  KDNAS_RETURN_IF_ERROR(CheckStrategy(spec, limits));
  // Size budgets.
  if (static_cast<size_t>(spec.report_size_budgets_bytes_size()) > limits.max_size_budgets) {
    return Bad("report_size_budgets_bytes",
               "at most " + std::to_string(limits.max_size_budgets) + " budgets");
  }
  for (int i = 0; i < spec.report_size_budgets_bytes_size(); ++i) {
    KDNAS_RETURN_IF_ERROR(CheckInt("report_size_budgets_bytes[" + std::to_string(i) + "]",
                                   spec.report_size_budgets_bytes(i), 1, INT64_MAX));
  }
  // Space: every knob and domain, then the base candidate's own rules.
  for (int i = 0; i < spec.space().parameters_size(); ++i) {
    KDNAS_RETURN_IF_ERROR(CheckString("space.parameters[" + std::to_string(i) + "].name",
                                      spec.space().parameters(i).name(), 64));
    if (spec.space().parameters(i).domain_case() == v1::Parameter::DOMAIN_NOT_SET) {
      return Bad("space.parameters[" + std::to_string(i) + "]",
                 "needs a domain: integer_range, double_range, discrete or categorical");
    }
  }
  KDNAS_RETURN_IF_ERROR(
      CheckFormatNames(spec.space().base().compression(), "spec.space.base.compression"));
  auto space = SearchSpace::Create(SearchSpaceSpecFromProto(spec.space()));
  if (!space.ok()) return InvalidArgument("spec." + space.status().message());
  KDNAS_RETURN_IF_ERROR(CheckWindowLength(spec));
  // The base's own rules, and the points to evaluate's, depend on the family,
  // which the teacher sets: they are checked with the teacher's context
  // (SetStudentFamily first).
  if (context.has_value() && spec.space().parameters_size() == 0) {
    Status base = ValidateCandidate(space->Decode({}), "spec.space.base");
    if (!base.ok()) return base;
  }
  if (context.has_value()) {
    const std::vector<Point>& points = space->points_to_evaluate();
    for (size_t j = 0; j < points.size(); ++j) {
      KDNAS_RETURN_IF_ERROR(ValidateCandidate(
          space->Decode(points[j]), "spec.space.points_to_evaluate[" + std::to_string(j) + "]"));
    }
    Status feasible = CheckFeasible(*space, *context, ConstraintsFromProto(c), spec.seed());
    if (!feasible.ok()) return feasible;
  }
  return Status::Ok();
}

namespace {

// The field through which the space can propose init: inherit, or "".
std::string InheritField(const v1::JobSpec& spec) {
  if (const int i = SearchedKnob(spec, "init"); i >= 0) {
    const v1::Parameter& p = spec.space().parameters(i);
    const std::string field = KnobField(i);
    for (int j = 0; j < p.categorical().values_size(); ++j) {
      if (p.categorical().values(j) == "inherit")
        return field + ".categorical.values[" + std::to_string(j) + "]";
    }
    for (int j = 0; j < p.discrete().values_size(); ++j) {
      if (p.discrete().values(j) == static_cast<double>(v1::INIT_INHERIT))
        return field + ".discrete.values[" + std::to_string(j) + "]";
    }
    if (p.has_integer_range() && p.integer_range().max() >= v1::INIT_INHERIT)
      return field + ".integer_range";
    return "";
  }
  if (spec.space().base().distillation().init() == v1::INIT_INHERIT)
    return "space.base.distillation.init";
  return "";
}

int HeadDimOf(const v1::Architecture& a) {
  if (a.head_dim() > 0) return a.head_dim();
  return a.num_heads() > 0 ? a.d_model() / a.num_heads() : 0;
}

// A field of the space that can propose a head_dim other than `teacher_dim`, or "".
std::string OtherHeadDimField(const v1::JobSpec& spec, int teacher_dim) {
  if (const int i = SearchedKnob(spec, "head_dim"); i >= 0) {
    const v1::Parameter& p = spec.space().parameters(i);
    const std::string field = KnobField(i);
    for (int j = 0; j < p.discrete().values_size(); ++j) {
      if (p.discrete().values(j) != teacher_dim)
        return field + ".discrete.values[" + std::to_string(j) + "]";
    }
    if (p.has_integer_range() &&
        (p.integer_range().min() != teacher_dim || p.integer_range().max() != teacher_dim))
      return field + ".integer_range";
    return "";
  }
  // An unset base head_dim is the teacher's (SetStudentFamily).
  const int base = spec.space().base().architecture().head_dim();
  if (base != 0 && base != teacher_dim) return "space.base.architecture.head_dim";
  return "";
}

}  // namespace

Status SetStudentFamily(v1::JobSpec* spec, const v1::TeacherInfo& teacher) {
  const BlockFamily family = FamilyFromProto(teacher.student_family());
  v1::Architecture* base = spec->mutable_space()->mutable_base()->mutable_architecture();
  if (base->has_family() && !(FamilyFromProto(base->family()) == family)) {
    return Bad("space.base.architecture.family",
               std::string("this teacher's students are made of ") + FamilyKindName(family.kind) +
                   " blocks with its norm epsilon and rotary embedding; leave family unset");
  }
  if (family == BlockFamily{}) {
    base->clear_family();  // kdnas's GPT-2 blocks: specs read as before
  } else {
    *base->mutable_family() = FamilyToProto(family);
  }
  // Llama-family students have their teacher's head width unless the spec
  // says otherwise (as Minitron's pruned Llamas do).
  if (family.llama() && base->head_dim() == 0 && teacher.has_architecture())
    base->set_head_dim(HeadDimOf(teacher.architecture()));
  if (const int i = SearchedKnob(*spec, "num_kv_heads"); i >= 0 && !family.llama()) {
    return Bad(
        KnobField(i),
        "num_kv_heads (grouped-query attention) is for Llama-family students; this "
        "teacher's students are made of GPT-2 blocks, with one key/value head per query head");
  }
  return Status::Ok();
}

Status CheckInheritable(const v1::JobSpec& spec, const v1::TeacherInfo& teacher) {
  const std::string field = InheritField(spec);
  if (field.empty()) return Status::Ok();
  if (!teacher.inheritable()) {
    return Bad(field,
               "init: inherit copies the teacher's weights, which needs a kdnas GPT teacher (its "
               "archive holds kdnas/architecture.json) or a Hugging Face one; this teacher is "
               "another TorchScript module: use scratch");
  }
  const BlockFamily family = FamilyFromProto(teacher.student_family());
  if (!family.llama()) return Status::Ok();
  // Llama-family students inherit whole heads: rotary positions pair a
  // head's dimensions, so a head cannot be narrowed by pruning.
  const int teacher_dim = HeadDimOf(teacher.architecture());
  const std::string other = OtherHeadDimField(spec, teacher_dim);
  if (other.empty()) return Status::Ok();
  return Bad(other, std::string("init: inherit (") + field + ") keeps whole heads of the " +
                        FamilyKindName(family.kind) + " teacher's head_dim " +
                        std::to_string(teacher_dim) +
                        ", which rotary positions do not let it narrow: keep head_dim at " +
                        std::to_string(teacher_dim) + " or use init: scratch");
}

Status CheckContextLength(const v1::JobSpec& spec, const v1::TeacherInfo& teacher) {
  if (!teacher.has_hf()) return Status::Ok();
  const int64_t limit = teacher.hf().max_position_embeddings();
  KDNAS_ASSIGN_OR_RETURN(LargestContext largest, FindTrainingWindow(spec));
  if (largest.value <= limit) return Status::Ok();
  const bool window = largest.field == "data.window_length";
  return Bad(largest.field, std::string(window ? "window_length " : "context_length ") +
                                std::to_string(largest.value) +
                                " exceeds the teacher's max_position_embeddings " +
                                std::to_string(limit) +
                                " (config.json): the teacher runs on every student's windows");
}

Status SetWindowLength(v1::JobSpec* spec) {
  if (spec->data().window_length() > 0) return Status::Ok();
  KDNAS_ASSIGN_OR_RETURN(LargestContext largest, FindLargestContext(*spec));
  spec->mutable_data()->set_window_length(static_cast<int32_t>(largest.value));
  return Status::Ok();
}

Status CheckCorpusLength(const v1::JobSpec& spec, const v1::DataInfo& data) {
  KDNAS_ASSIGN_OR_RETURN(LargestContext largest, FindTrainingWindow(spec));
  // The workers' split and their minimum (workers/corpus.h, Corpus::CheckContext).
  const int64_t tokens = data.text_tokens();
  const auto validation = static_cast<int64_t>(
      std::floor(static_cast<double>(tokens) * spec.data().validation_fraction()));
  const int64_t train = tokens - validation, need = largest.value + 1;
  if (train >= 2 * need && validation >= need) return Status::Ok();
  const bool window = largest.field == "data.window_length";
  return Bad("data.text",
             "the corpus has " + std::to_string(tokens) + " tokens under the teacher's " +
                 "tokenizer: " + std::to_string(train) + " for training and " +
                 std::to_string(validation) + " held out (data.validation_fraction " +
                 std::to_string(spec.data().validation_fraction()) + "); " +
                 (window ? "window_length " : "context_length ") + std::to_string(largest.value) +
                 " (" + largest.field + ") needs at least " + std::to_string(2 * need) + " and " +
                 std::to_string(need));
}

Status CheckTeacherPass(const v1::JobSpec& spec, const v1::DataInfo& data) {
  const auto& pass = spec.teacher_pass();
  if (pass.steps_per_shard() < 0)
    return Bad("teacher_pass.steps_per_shard", "must be >= 0 (0 = train_steps / 8)");
  if (pass.top_k() < 0) return Bad("teacher_pass.top_k", "must be >= 0 (0 = 32)");
  if (data.vocab_size() > defaults::kFullVocabLimit && pass.top_k() >= data.vocab_size()) {
    return Bad("teacher_pass.top_k", "must be below the vocabulary's " +
                                         std::to_string(data.vocab_size()) + " tokens, got " +
                                         std::to_string(pass.top_k()));
  }
  return Status::Ok();
}

Status CheckHfLoadable(const v1::JobSpec& spec, const v1::DataInfo& data) {
  if (!spec.export_().hf_loadable()) return Status::Ok();
  if (data.tokenizer() != v1::TOKENIZER_KIND_BPE &&
      data.tokenizer() != v1::TOKENIZER_KIND_SENTENCEPIECE) {
    return Bad("export.hf_loadable",
               std::string("the students' tokenizer is kdnas's own (") +
                   TokenizerKindName(data.tokenizer()) +
                   "), which has no Hugging Face form: only students of an imported teacher "
                   "(teacher.hf, or a kdnas student of one) are written in its layout");
  }
  const v1::Architecture& base = spec.space().base().architecture();
  const BlockFamily family = FamilyFromProto(base.family());
  if (!family.llama()) {
    if (base.head_dim() != 0) {
      return Bad("space.base.architecture.head_dim",
                 "export.hf_loadable: GPT-2's config.json has no head_dim (its heads are "
                 "n_embd / n_head wide): leave it unset");
    }
    if (const int i = SearchedKnob(spec, "head_dim"); i >= 0) {
      return Bad(KnobField(i),
                 "export.hf_loadable: GPT-2's config.json has no head_dim (its heads are "
                 "n_embd / n_head wide): do not search it");
    }
  }
  auto config = HfConfigOf(ArchitectureFromProto(base), data.vocab_size());
  if (!config.ok()) {
    return Bad("space.base.architecture", "export.hf_loadable: " + config.status().message());
  }
  return Status::Ok();
}

Status CheckGgufWritable(const v1::JobSpec& spec, const v1::DataInfo& data) {
  if (data.gguf_unavailable().empty()) return Status::Ok();
  const std::string why =
      "a student with one of llama.cpp's types is a GGUF file, and this "
      "job's tokenizer cannot be written to one: " +
      data.gguf_unavailable();
  const std::string& base = spec.space().base().compression().weight_format();
  if (!base.empty() && base != "kdnas") return Bad("space.base.compression.weight_format", why);
  if (const int i = SearchedKnob(spec, "weight_format"); i >= 0) {
    const v1::Parameter& p = spec.space().parameters(i);
    for (const std::string& value : p.categorical().values())
      if (value != "kdnas") return Bad(KnobField(i), why);
    for (double value : p.discrete().values())
      if (value != 0) return Bad(KnobField(i), why);
  }
  return Status::Ok();
}

Status CheckAgainstTeacher(const v1::JobSpec& spec, const v1::TeacherInfo& teacher) {
  KDNAS_RETURN_IF_ERROR(CheckInheritable(spec, teacher));
  return CheckContextLength(spec, teacher);
}

}  // namespace kdnas
