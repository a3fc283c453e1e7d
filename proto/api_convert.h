// Conversion between the public API messages (kdnas.v1) and the core's plain
// structs (search/), shared by both edges: the controller and the worker.
// Proto "0 means default" rules are applied here and nowhere else: the
// candidate's when a Candidate is converted, the job's by ApplyJobDefaults
// when the controller accepts a spec (values from search/job_defaults.h).
#pragma once

#include "kdnas/v1/candidate.pb.h"
#include "kdnas/v1/job.pb.h"
#include "kdnas/v1/trial.pb.h"
#include "search/candidate.h"
#include "search/cost_model.h"
#include "search/metrics.h"
#include "search/search_space.h"
#include "search/strategy.h"

namespace kdnas {

// A format name CandidateFromProto cannot parse is left unset: check the
// names first with CheckFormatNames.
Candidate CandidateFromProto(const v1::Candidate& proto);
// INVALID_ARGUMENT naming `at`.<field> ("spec.space.base.compression.
// weight_format: ...") for a format name that is neither kdnas's nor one of
// llama.cpp's types.
Status CheckFormatNames(const v1::Compression& proto, const std::string& at);
v1::Candidate CandidateToProto(const Candidate& candidate);
Architecture ArchitectureFromProto(const v1::Architecture& proto);
v1::Architecture ArchitectureToProto(const Architecture& architecture);
BlockFamily FamilyFromProto(const v1::Family& proto);
v1::Family FamilyToProto(const BlockFamily& family);

// The space's base keeps d_ff = 0 when unset, meaning 4 x the decoded d_model.
SearchSpaceSpec SearchSpaceSpecFromProto(const v1::SearchSpace& proto);

Constraints ConstraintsFromProto(const v1::Constraints& proto);

// Every metric set in `proto`, by field name; a metric that was not
// measured (an unset optional field) is absent.
MetricValues MetricValuesFromProto(const v1::TrialMetrics& proto);

// The objectives of a job, in order (after ApplyJobDefaults: never empty).
std::vector<ObjectiveSpec> ObjectivesFromProto(const v1::JobSpec& spec);

// The spec with every "0 means default" field set to its default, and
// multi-fidelity and the predictors on when their messages are absent.
v1::JobSpec ApplyJobDefaults(v1::JobSpec spec);

// Strategy name and options of a job (defaults applied). JobSearch sets its
// maximize flags from the job's objectives.
StrategyOptions StrategyOptionsFromProto(const v1::JobSpec& spec);

}  // namespace kdnas
