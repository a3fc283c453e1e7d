#include "server/job_validation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "proto/api_convert.h"

namespace kdnas {
namespace {

v1::JobSpec ValidSpec() {
  v1::JobSpec spec;
  spec.mutable_data()->mutable_text()->set_path("data/tinyshakespeare.txt");
  spec.mutable_teacher()->mutable_model()->set_blob("blobs/" + std::string(64, 'a'));
  auto* p = spec.mutable_space()->add_parameters();
  p->set_name("num_layers");
  p->mutable_integer_range()->set_min(1);
  p->mutable_integer_range()->set_max(4);
  auto* bits = spec.mutable_space()->add_parameters();
  bits->set_name("weight_bits");
  for (double b : {8, 4, 2}) bits->mutable_discrete()->add_values(b);
  return spec;
}

struct Case {
  const char* name;
  std::function<void(v1::JobSpec*)> mutate;
  const char* message;  // expected prefix of the error
};

TEST(JobValidation, AcceptsAValidSpecAndAppliesDefaults) {
  v1::JobSpec spec = ValidSpec();
  ASSERT_TRUE(ValidateJobSpec(spec).ok()) << ValidateJobSpec(spec).ToString();
  v1::JobSpec resolved = ApplyJobDefaults(spec);
  EXPECT_EQ(resolved.budget().max_trials(), 32);
  EXPECT_EQ(resolved.budget().train_steps(), 300);
  EXPECT_EQ(resolved.strategy().name(), "nsga2");
  ASSERT_EQ(resolved.objectives_size(), 2);
  EXPECT_EQ(resolved.objectives(1).metric(), "size_bytes");
  EXPECT_TRUE(ValidateJobSpec(resolved).ok());
}

TEST(JobValidation, AnObjectivesThresholdReachesTheSearch) {
  v1::JobSpec spec = ValidSpec();
  auto* loss = spec.add_objectives();
  loss->set_metric("val_loss");
  loss->set_threshold(1.81);
  spec.add_objectives()->set_metric("size_bytes");
  ASSERT_TRUE(ValidateJobSpec(spec).ok()) << ValidateJobSpec(spec).ToString();
  const std::vector<ObjectiveSpec> objectives = ObjectivesFromProto(ApplyJobDefaults(spec));
  ASSERT_EQ(objectives.size(), 2u);
  EXPECT_EQ(objectives[0].threshold, 1.81);
  EXPECT_FALSE(objectives[1].threshold.has_value());
}

// The best measured configuration is the default: multi-fidelity and the
// predictors apply when their messages are absent, and {enabled: false}
// turns them off.
TEST(JobValidation, MultiFidelityAndPredictorsAreOnUnlessTurnedOff) {
  v1::JobSpec absent = ApplyJobDefaults(ValidSpec());
  EXPECT_TRUE(absent.strategy().multi_fidelity().enabled());
  EXPECT_EQ(absent.strategy().multi_fidelity().rung_steps_size(), 2);
  EXPECT_EQ(absent.strategy().multi_fidelity().rung_steps(0), 300 / 9);
  EXPECT_TRUE(absent.strategy().predictor().enabled());
  EXPECT_EQ(absent.strategy().predictor().oversample(), 4);
  v1::JobSpec off = ValidSpec();
  off.mutable_strategy()->mutable_multi_fidelity()->set_enabled(false);
  off.mutable_strategy()->mutable_predictor()->set_enabled(false);
  off = ApplyJobDefaults(off);
  EXPECT_FALSE(off.strategy().multi_fidelity().enabled());
  EXPECT_EQ(off.strategy().multi_fidelity().rung_steps_size(), 0);
  EXPECT_FALSE(off.strategy().predictor().enabled());
}

TEST(JobValidation, EveryBadFieldIsNamed) {
  const std::vector<Case> cases = {
      {"long name", [](v1::JobSpec* s) { s->set_display_name(std::string(1000, 'x')); },
       "spec.display_name: at most 128 characters"},
      {"no data", [](v1::JobSpec* s) { s->clear_data(); }, "spec.data: is required"},
      {"empty data ref", [](v1::JobSpec* s) { s->mutable_data()->mutable_text()->Clear(); },
       "spec.data.text: is required"},
      {"traversal blob",
       [](v1::JobSpec* s) {
         s->mutable_teacher()->mutable_model()->set_blob("blobs/../../etc/passwd");
       },
       "spec.teacher.model.blob: must be \"blobs/\" followed by a lower-case sha256"},
      {"huge path",
       [](v1::JobSpec* s) {
         s->mutable_data()->mutable_text()->set_path(std::string(100000, 'p'));
       },
       "spec.data.text.path: at most 4096 characters"},
      {"two teachers",
       [](v1::JobSpec* s) { s->mutable_teacher()->mutable_hf()->set_path("/ckpt"); },
       "spec.teacher.hf: a job has one teacher: set teacher.model (a kdnas TorchScript teacher) "
       "or teacher.hf (a Hugging Face checkpoint), not both"},
      {"no teacher", [](v1::JobSpec* s) { s->clear_teacher(); },
       "spec.teacher: is required: teacher.model (a kdnas TorchScript teacher) or teacher.hf"},
      {"empty teacher", [](v1::JobSpec* s) { s->mutable_teacher()->clear_model(); },
       "spec.teacher: is required"},
      {"empty hf ref",
       [](v1::JobSpec* s) {
         s->mutable_teacher()->clear_model();
         s->mutable_teacher()->mutable_hf();
       },
       "spec.teacher.hf: is required: set blob (from kdnas upload) or path"},
      {"char tokenizer of an hf teacher",
       [](v1::JobSpec* s) {
         s->mutable_teacher()->clear_model();
         s->mutable_teacher()->mutable_hf()->set_path("/ckpt");
         s->mutable_data()->set_tokenizer(v1::TOKENIZER_KIND_CHAR);
       },
       "spec.data.tokenizer: char is kdnas's own tokenizer; a Hugging Face teacher (teacher.hf) "
       "brings its own (bpe or sentencepiece): leave data.tokenizer unset"},
      {"bpe tokenizer of a kdnas teacher",
       [](v1::JobSpec* s) { s->mutable_data()->set_tokenizer(v1::TOKENIZER_KIND_BPE); },
       "spec.data.tokenizer: bpe is the tokenizer of a Hugging Face teacher (teacher.hf)"},
      {"bad fraction", [](v1::JobSpec* s) { s->mutable_data()->set_validation_fraction(0.9); },
       "spec.data.validation_fraction: must be in"},
      {"nan fraction",
       [](v1::JobSpec* s) { s->mutable_data()->set_validation_fraction(std::nan("")); },
       "spec.data.validation_fraction: must be a finite number"},
      {"unknown metric", [](v1::JobSpec* s) { s->add_objectives()->set_metric("accuracy"); },
       "spec.objectives[0].metric: unknown metric \"accuracy\""},
      {"duplicate metric",
       [](v1::JobSpec* s) {
         s->add_objectives()->set_metric("val_loss");
         s->add_objectives()->set_metric("val_loss");
       },
       "spec.objectives[1].metric: \"val_loss\" appears twice"},
      {"too many objectives",
       [](v1::JobSpec* s) {
         for (const char* m : {"val_loss", "size_bytes", "params", "latency_ms", "perplexity"})
           s->add_objectives()->set_metric(m);
       },
       "spec.objectives: at most 4 objectives"},
      {"threshold on a metric the predictors do not rank",
       [](v1::JobSpec* s) {
         auto* o = s->add_objectives();
         o->set_metric("latency_ms");
         o->set_threshold(2.0);
       },
       "spec.objectives[0].threshold: only val_loss and size_bytes take a threshold"},
      {"threshold on a maximized loss",
       [](v1::JobSpec* s) {
         auto* o = s->add_objectives();
         o->set_metric("val_loss");
         o->set_direction(v1::DIRECTION_MAXIMIZE);
         o->set_threshold(2.0);
       },
       "spec.objectives[0].threshold: needs val_loss minimized"},
      {"threshold without the predictors",
       [](v1::JobSpec* s) {
         auto* o = s->add_objectives();
         o->set_metric("val_loss");
         o->set_threshold(2.0);
         s->mutable_strategy()->mutable_predictor()->set_enabled(false);
       },
       "spec.objectives[0].threshold: steers the predictors, which strategy.predictor turns off"},
      {"nan threshold",
       [](v1::JobSpec* s) {
         auto* o = s->add_objectives();
         o->set_metric("val_loss");
         o->set_threshold(std::nan(""));
       },
       "spec.objectives[0].threshold: must be a finite number"},
      {"negative size", [](v1::JobSpec* s) { s->mutable_constraints()->set_max_size_bytes(-1); },
       "spec.constraints.max_size_bytes: must be in 0.."},
      {"infinite latency",
       [](v1::JobSpec* s) { s->mutable_constraints()->set_max_latency_ms(INFINITY); },
       "spec.constraints.max_latency_ms: must be a finite number"},
      {"negative trials", [](v1::JobSpec* s) { s->mutable_budget()->set_max_trials(-3); },
       "spec.budget.max_trials: must be in 0..10000000 (got -3)"},
      {"nan seconds",
       [](v1::JobSpec* s) { s->mutable_budget()->set_max_worker_seconds(std::nan("")); },
       "spec.budget.max_worker_seconds: must be a finite number"},
      {"negative seconds", [](v1::JobSpec* s) { s->mutable_budget()->set_max_worker_seconds(-1); },
       "spec.budget.max_worker_seconds: must be in"},
      {"huge batch", [](v1::JobSpec* s) { s->mutable_budget()->set_batch_size(1 << 20); },
       "spec.budget.batch_size: must be in 0..4096"},
      {"unknown strategy", [](v1::JobSpec* s) { s->mutable_strategy()->set_name("hyperband"); },
       "spec.strategy.name: unknown strategy \"hyperband\""},
      {"tiny population",
       [](v1::JobSpec* s) { s->mutable_strategy()->mutable_nsga2()->set_population_size(2); },
       "spec.strategy.nsga2.population_size: must be >= 4"},
      {"rungs decrease",
       [](v1::JobSpec* s) {
         s->mutable_strategy()->mutable_multi_fidelity()->add_rung_steps(100);
         s->mutable_strategy()->mutable_multi_fidelity()->add_rung_steps(50);
       },
       "spec.strategy.multi_fidelity.rung_steps[1]: rungs must increase"},
      {"rung past the end",
       [](v1::JobSpec* s) { s->mutable_strategy()->mutable_multi_fidelity()->add_rung_steps(300); },
       "spec.strategy.multi_fidelity.rung_steps[0]: must be in 1..299"},
      {"unknown knob",
       [](v1::JobSpec* s) { s->mutable_space()->mutable_parameters(0)->set_name("depth"); },
       "spec.space.parameters[0].name: unknown knob \"depth\""},
      {"no domain",
       [](v1::JobSpec* s) { s->mutable_space()->add_parameters()->set_name("d_model"); },
       "spec.space.parameters[2]: needs a domain"},
      {"bad bits",
       [](v1::JobSpec* s) {
         s->mutable_space()->mutable_parameters(1)->mutable_discrete()->add_values(5);
       },
       "spec.space.parameters[1].discrete.values[3]: weight_bits must be one of"},
      {"point names an unsearched knob",
       [](v1::JobSpec* s) {
         auto& values = *s->mutable_space()->add_points_to_evaluate()->mutable_values();
         values["weight_bits"] = "4";
         values["d_model"] = "64";
       },
       "spec.space.points_to_evaluate[0].values.d_model: not a searched parameter (searched: "
       "num_layers, weight_bits)"},
      {"point outside the domain",
       [](v1::JobSpec* s) {
         (*s->mutable_space()->add_points_to_evaluate()->mutable_values())["weight_bits"] = "3";
       },
       "spec.space.points_to_evaluate[0].values.weight_bits: weight_bits 3 is not in the searched "
       "domain"},
      {"zero budget", [](v1::JobSpec* s) { s->add_report_size_budgets_bytes(0); },
       "spec.report_size_budgets_bytes[0]: must be in 1.."},
  };
  for (const Case& c : cases) {
    v1::JobSpec spec = ValidSpec();
    c.mutate(&spec);
    Status s = ValidateJobSpec(spec);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(s.message().rfind(c.message, 0), 0u) << c.name << ": " << s.message();
  }
}

TEST(JobValidation, InvalidBaseCandidateIsNamed) {
  v1::JobSpec spec = ValidSpec();
  spec.mutable_space()->clear_parameters();
  spec.mutable_space()->mutable_base()->mutable_architecture()->set_d_model(100);
  spec.mutable_space()->mutable_base()->mutable_architecture()->set_num_heads(3);
  // The base's rules depend on the family the teacher sets: checked with its context.
  Status s = ValidateJobSpec(spec, ModelContext{65, 200});
  EXPECT_EQ(
      s.message().rfind("spec.space.base.architecture.d_model: must be divisible by num_heads", 0),
      0u)
      << s.message();
}

TEST(JobValidation, AnInvalidPointToEvaluateIsNamed) {
  v1::JobSpec spec = ValidSpec();
  auto* heads = spec.mutable_space()->add_parameters();
  heads->set_name("num_heads");
  for (double v : {3, 4}) heads->mutable_discrete()->add_values(v);
  auto& values = *spec.mutable_space()->add_points_to_evaluate()->mutable_values();
  values["weight_bits"] = "4";
  values["num_heads"] = "3";
  // Valid or not depends on the family the teacher sets: checked with its context.
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
  Status s = ValidateJobSpec(spec, ModelContext{65, 200});
  EXPECT_EQ(s.message().rfind("spec.space.points_to_evaluate[0].architecture.d_model: must be "
                              "divisible by num_heads",
                              0),
            0u)
      << s.message();
}

TEST(JobValidation, ASpaceWithoutAValidCandidateSaysWhy) {
  v1::JobSpec spec = ValidSpec();
  spec.mutable_space()->mutable_base()->mutable_architecture()->set_num_heads(3);
  auto* d = spec.mutable_space()->add_parameters();
  d->set_name("d_model");
  for (double v : {100, 128}) d->mutable_discrete()->add_values(v);
  Status s = ValidateJobSpec(spec, ModelContext{65, 200});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("spec.space: none of the 10001 candidates tried is valid; for "
                              "example candidate.architecture.d_model: must be divisible by "
                              "num_heads",
                              0),
            0u)
      << s.message();
}

TEST(JobValidation, InfeasibleConstraintsAreRefused) {
  v1::JobSpec spec = ValidSpec();
  spec.mutable_constraints()->set_max_size_bytes(1000);
  EXPECT_TRUE(ValidateJobSpec(spec).ok());  // unknown vocabulary: not checked
  Status s = ValidateJobSpec(spec, ModelContext{65, 200});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind(
                "spec.constraints: no candidate of the space satisfies max_size_bytes=1000", 0),
            0u)
      << s.message();
  spec.mutable_constraints()->set_max_size_bytes(400000);
  EXPECT_TRUE(ValidateJobSpec(spec, ModelContext{65, 200}).ok());
}

TEST(JobValidation, AnImportedTeachersContextBoundsTheSpace) {
  v1::TeacherInfo teacher;
  teacher.mutable_hf()->set_max_position_embeddings(64);
  v1::JobSpec spec = ValidSpec();
  EXPECT_TRUE(CheckAgainstTeacher(spec, teacher).ok());  // the base's default 64
  auto* context = spec.mutable_space()->add_parameters();
  context->set_name("context_length");
  context->mutable_integer_range()->set_min(8);
  context->mutable_integer_range()->set_max(64);
  context->mutable_integer_range()->set_step(8);
  EXPECT_TRUE(CheckAgainstTeacher(spec, teacher).ok());
  // 8..100 in steps of 64 proposes 8 and 72.
  context->mutable_integer_range()->set_max(100);
  context->mutable_integer_range()->set_step(64);
  Status s = CheckAgainstTeacher(spec, teacher);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("spec.space.parameters[2].integer_range.max: context_length 72 "
                              "exceeds the teacher's max_position_embeddings 64",
                              0),
            0u)
      << s.message();
  // The searched knob replaces the base's value.
  context->mutable_integer_range()->set_max(64);
  spec.mutable_space()->mutable_base()->mutable_architecture()->set_context_length(512);
  EXPECT_TRUE(CheckAgainstTeacher(spec, teacher).ok());
  spec.mutable_space()->mutable_parameters()->RemoveLast();
  s = CheckAgainstTeacher(spec, teacher);
  EXPECT_EQ(s.message().rfind("spec.space.base.architecture.context_length: context_length 512", 0),
            0u)
      << s.message();
  // A kdnas teacher's context is not known here.
  EXPECT_TRUE(CheckAgainstTeacher(spec, v1::TeacherInfo()).ok());
  // Nor may the training windows be longer.
  spec.mutable_space()->mutable_base()->mutable_architecture()->set_context_length(32);
  spec.mutable_data()->set_window_length(128);
  EXPECT_EQ(CheckAgainstTeacher(spec, teacher).message(),
            "spec.data.window_length: window_length 128 exceeds the teacher's "
            "max_position_embeddings 64 (config.json): the teacher runs on every student's "
            "windows");
}

// Training windows default to the space's largest context_length, and may
// not be shorter: students train on their prefixes.
TEST(JobValidation, TrainingWindowsCoverEveryContext) {
  v1::JobSpec spec = ValidSpec();
  auto* context = spec.mutable_space()->add_parameters();
  context->set_name("context_length");
  for (double c : {32, 96, 64}) context->mutable_discrete()->add_values(c);
  ASSERT_TRUE(SetWindowLength(&spec).ok());
  EXPECT_EQ(spec.data().window_length(), 96);
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
  spec.mutable_data()->set_window_length(128);  // longer is allowed
  ASSERT_TRUE(SetWindowLength(&spec).ok());
  EXPECT_EQ(spec.data().window_length(), 128);
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
  spec.mutable_data()->set_window_length(64);
  EXPECT_EQ(ValidateJobSpec(spec).message(),
            "spec.data.window_length: 64 is shorter than the space's largest context_length 96 "
            "(space.parameters[2].discrete.values[1]): students train on a prefix of each window");
  spec.mutable_data()->set_window_length(65537);
  EXPECT_EQ(
      ValidateJobSpec(spec).message().rfind("spec.data.window_length: must be in 0..65536", 0), 0u);
  // The corpus must hold two training windows.
  spec.mutable_data()->set_window_length(1000);
  v1::DataInfo data;
  data.set_text_tokens(2200);
  EXPECT_EQ(
      CheckCorpusLength(ApplyJobDefaults(spec), data)
          .message()
          .rfind("spec.data.text: the corpus has 2200 tokens under the teacher's tokenizer: 1980 "
                 "for training and 220 held out (data.validation_fraction 0.100000); "
                 "window_length 1000 (data.window_length) needs at least 2002 and 1001",
                 0),
      0u)
      << CheckCorpusLength(ApplyJobDefaults(spec), data).message();
}

TEST(JobValidation, WeightFormatNamesAreChecked) {
  v1::JobSpec spec = ValidSpec();
  spec.mutable_space()->mutable_base()->mutable_compression()->set_weight_format("q7_k");
  Status s = ValidateJobSpec(spec);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("spec.space.base.compression.weight_format: 'q7_k' is not one of "
                              "kdnas's formats or llama.cpp's types",
                              0),
            0u)
      << s.message();
  spec.mutable_space()->mutable_base()->mutable_compression()->set_weight_format("Q4_0");
  spec.mutable_space()->mutable_base()->mutable_compression()->set_ffn_format("kdnas");
  s = ValidateJobSpec(spec);
  EXPECT_EQ(s.message().rfind("spec.space.base.compression.ffn_format: 'kdnas' is not one of "
                              "llama.cpp's types",
                              0),
            0u)
      << s.message();
}

// A GGUF student needs a tokenizer GGUF can hold (DataInfo.gguf_unavailable).
TEST(JobValidation, LlamaCppTypesNeedATokenizerGgufHolds) {
  v1::JobSpec spec = ValidSpec();
  auto* formats = spec.mutable_space()->add_parameters();
  formats->set_name("weight_format");
  formats->mutable_categorical()->add_values("kdnas");
  v1::DataInfo data;
  data.set_gguf_unavailable("a SentencePiece Unigram model");
  EXPECT_TRUE(CheckGgufWritable(spec, data).ok());
  formats->mutable_categorical()->add_values("q4_0");
  Status s = CheckGgufWritable(spec, data);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("spec.space.parameters[2]: a student with one of llama.cpp's types "
                              "is a GGUF file, and this job's tokenizer cannot be written to one: "
                              "a SentencePiece Unigram model",
                              0),
            0u)
      << s.message();
  EXPECT_TRUE(CheckGgufWritable(spec, v1::DataInfo()).ok());
  spec.mutable_space()->mutable_base()->mutable_compression()->set_weight_format("q8_0");
  s = CheckGgufWritable(spec, data);
  EXPECT_EQ(s.message().rfind("spec.space.base.compression.weight_format: a student", 0), 0u)
      << s.message();
}

}  // namespace
}  // namespace kdnas
