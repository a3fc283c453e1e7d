// A student in Hugging Face terms: its tensor for each part of its config's
// HfTensorTable (the config: HfConfigOf, formats/hf_kdnas_architecture.h),
// in the checkpoint's layout. Tests load a student
// back as an HfModel through it (the same logits); the export of students
// in their teacher's layout writes by it, and an imported teacher is copied
// into a kdnas Gpt by its inverse (workers/hf_as_gpt.h).
#pragma once

#include <torch/torch.h>

#include "formats/hf_config.h"
#include "formats/hf_kdnas_architecture.h"
#include "formats/hf_tensor_map.h"
#include "search/candidate.h"
#include "search/status.h"
#include "workers/gpt.h"

namespace kdnas {

// The student's tensor for `part` of `layer` (-1 outside the layers), fp32,
// as the checkpoint stores it: linears dense (low-rank factors multiplied
// out, pruned weights zero), GPT-2's Conv1D weights [in, out], its fused
// c_attn from attn.qkv. Undefined when the family has no such part.
torch::Tensor StudentTensor(GptImpl& student, HfPart part, int64_t layer);

// The inverse for a dense student: copies `value`, in the checkpoint's
// layout, into the student's tensor for `part`. INVALID_ARGUMENT when the
// student has no such part or another shape; FAILED_PRECONDITION for a
// low-rank matrix.
Status SetStudentTensor(GptImpl& student, HfPart part, int64_t layer, const torch::Tensor& value);

}  // namespace kdnas
