// An imported GPT-2 (formats/hf_kdnas_architecture.h) as a dense kdnas Gpt
// with the same weights, so that students inherit from it exactly as from a
// kdnas teacher. The Conv1D weights ([in, out]) are transposed to the Gpt's
// [out, in]; c_attn's output columns are already q, k, v with heads
// contiguous, the Gpt's fused layout.
#pragma once

#include "search/status.h"
#include "workers/gpt.h"
#include "workers/hf_model.h"

namespace kdnas {

// FAILED_PRECONDITION with KdnasArchitectureOf's reason for a checkpoint
// that is not a kdnas GPT.
StatusOr<Gpt> HfModelAsGpt(const HfModel& model);

}  // namespace kdnas
