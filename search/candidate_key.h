// The canonical form of a candidate and its key: two candidates that would
// train the same student have the same key, so no student is trained twice.
#pragma once

#include <string>

#include "search/candidate.h"

namespace kdnas {

// Zeroes the settings that have no effect (group size with no quantized
// tensor, unstructured sparsity under an N:M pattern, temperature when alpha
// is 0) and collapses per-layer choices equal for every layer.
Candidate Canonicalize(const Candidate& candidate);

// A stable, readable text of the canonical candidate, e.g.
// "L4 d128 h4 ff512 c64 tie0 | w4 g32 e8 s0 nm0 r0 | T2 a0.5 inherit".
std::string CandidateKey(const Candidate& candidate);

}  // namespace kdnas
