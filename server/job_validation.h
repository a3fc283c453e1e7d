// Validation of a submitted JobSpec: every field is checked and an error is
// INVALID_ARGUMENT naming the field path ("spec.budget.max_trials: must be
// >= 0 (got -3)"). Defaults documented in job.proto are applied by
// ApplyJobDefaults (proto/api_convert.h), after validation.
#pragma once

#include <optional>

#include "kdnas/v1/job.pb.h"
#include "proto/api_convert.h"
#include "search/cost_model.h"
#include "search/status.h"

namespace kdnas {

struct JobLimits {
  size_t max_string_length = 4096;
  size_t max_display_name_length = 128;
  int64_t max_trials = 10'000'000;
  int64_t max_train_steps = 10'000'000;
  int32_t max_batch_size = 4096;
  int32_t max_attempts = 100;
  int64_t max_eval_tokens = 100'000'000;
  size_t max_objectives = 4;
  size_t max_size_budgets = 16;
  size_t max_rungs = 16;
};

// Checks the spec. When `context` is given (the data's vocabulary and
// tokenizer size are known), also checks that some candidate of the space
// satisfies the constraints.
Status ValidateJobSpec(const v1::JobSpec& spec,
                       const std::optional<ModelContext>& context = std::nullopt,
                       const JobLimits& limits = JobLimits());

// Sets the space's base family to the teacher's student_family (kdnas's
// GPT-2 blocks leave it unset) and, for the Llama family, the base head_dim
// to the teacher's when the spec leaves it 0. INVALID_ARGUMENT naming
// space.base.architecture.family when the spec sets another.
Status SetStudentFamily(v1::JobSpec* spec, const v1::TeacherInfo& teacher);

// Sets data.window_length, when unset, to the space's largest
// context_length (every trial's training windows: their teacher outputs are
// shared by students of every context).
Status SetWindowLength(v1::JobSpec* spec);

// The checks of the spec against what was read from the teacher at
// submission (server/job_inputs.h): CheckInheritable, then
// CheckContextLength.
Status CheckAgainstTeacher(const v1::JobSpec& spec, const v1::TeacherInfo& teacher);

// With export.hf_loadable (call after SetStudentFamily): INVALID_ARGUMENT
// naming the field when a student of the space could have no standard
// config.json: kdnas's own tokenizer, layers that differ
// (space.base.architecture.layers), or a GPT-2 head_dim.
Status CheckHfLoadable(const v1::JobSpec& spec, const v1::DataInfo& data);

// INVALID_ARGUMENT naming the field when a student of the space has one of
// llama.cpp's types (a weight_format) and the job's tokenizer cannot be
// written to GGUF (data.gguf_unavailable says why).
Status CheckGgufWritable(const v1::JobSpec& spec, const v1::DataInfo& data);

// INVALID_ARGUMENT naming spec.data.text when the corpus, as the workers
// split it (`spec` with its defaults applied), has too few training or
// held-out tokens for the training windows (data.window_length, else the
// space's largest context_length): every trial would fail on it.
Status CheckCorpusLength(const v1::JobSpec& spec, const v1::DataInfo& data);

// INVALID_ARGUMENT naming spec.teacher_pass.{steps_per_shard,top_k} when
// negative, or top_k when the vocabulary is kept as top-k (over 1024 tokens)
// and top_k is not below it.
Status CheckTeacherPass(const v1::JobSpec& spec, const v1::DataInfo& data);

// INVALID_ARGUMENT naming the field when the space can propose init:
// inherit but the teacher is not a kdnas GPT or an imported checkpoint
// (students cannot inherit from it; a trial would otherwise train from
// scratch under an inherit label), or when a Llama-family space that can
// inherit can also propose a head_dim other than the teacher's (students
// inherit whole heads; call after SetStudentFamily).
Status CheckInheritable(const v1::JobSpec& spec, const v1::TeacherInfo& teacher);

// For a Hugging Face teacher: INVALID_ARGUMENT naming the field when the
// space can propose a context_length, or data.window_length is, above the
// teacher's max_position_embeddings (the teacher runs on every window).
// The spec must have passed ValidateJobSpec.
Status CheckContextLength(const v1::JobSpec& spec, const v1::TeacherInfo& teacher);

}  // namespace kdnas
