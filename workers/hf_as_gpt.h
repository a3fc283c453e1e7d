// An imported teacher (formats/hf_kdnas_architecture.h) as a dense kdnas Gpt
// of its family with the same weights and logits, copied part by part
// (SetStudentTensor, workers/student_as_hf.h): students inherit from it as
// from a kdnas teacher. GPT-2's Conv1D weights ([in, out]) are transposed to
// the Gpt's [out, in]; c_attn's output columns are already q, k, v with
// heads contiguous, the Gpt's fused layout.
#pragma once

#include "search/status.h"
#include "workers/gpt.h"
#include "workers/hf_model.h"

namespace kdnas {

// INTERNAL if a tensor does not fit (HfModel checked the shapes on load).
StatusOr<Gpt> HfModelAsGpt(const HfModel& model);

}  // namespace kdnas
