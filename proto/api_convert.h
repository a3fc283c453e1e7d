// Conversion between the public API messages (kdnas.v1) and the core's plain
// structs (search/), shared by both edges: the controller and the worker.
// Proto "0 means default" rules are applied here and nowhere else.
#pragma once

#include "kdnas/v1/candidate.pb.h"
#include "kdnas/v1/job.pb.h"
#include "search/candidate.h"
#include "search/cost_model.h"
#include "search/search_space.h"
#include "search/strategy.h"

namespace kdnas {

Candidate CandidateFromProto(const v1::Candidate& proto);
v1::Candidate CandidateToProto(const Candidate& candidate);
Architecture ArchitectureFromProto(const v1::Architecture& proto);
v1::Architecture ArchitectureToProto(const Architecture& architecture);

// The space's base keeps d_ff = 0 when unset, meaning 4 x the decoded d_model.
SearchSpaceSpec SearchSpaceSpecFromProto(const v1::SearchSpace& proto);

Constraints ConstraintsFromProto(const v1::Constraints& proto);

// Strategy name and options of a job (defaults applied), with one maximize
// flag per objective.
StrategyOptions StrategyOptionsFromProto(const v1::JobSpec& spec);

}  // namespace kdnas
