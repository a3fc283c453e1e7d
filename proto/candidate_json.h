// The candidate file of `kdnas-worker run-candidate --candidate c.json`: the
// proto3 JSON mapping of kdnas.v1.Candidate, converted to the plain
// kdnas::Candidate with the defaults documented in candidate.proto applied.
// Also the JSON of an Architecture, stored in TorchScript files.
#pragma once

#include <string>

#include "kdnas/v1/candidate.pb.h"
#include "proto/api_convert.h"
#include "search/candidate.h"
#include "search/status.h"

namespace kdnas {

// Parses, applies defaults and validates (ValidateCandidate). Errors are
// INVALID_ARGUMENT naming the field path ("candidate.compression.weight_bits: ...").
StatusOr<Candidate> CandidateFromJson(const std::string& json);
std::string CandidateToJson(const Candidate& candidate);

std::string ArchitectureToJson(const Architecture& architecture);
StatusOr<Architecture> ArchitectureFromJson(const std::string& json);

}  // namespace kdnas
