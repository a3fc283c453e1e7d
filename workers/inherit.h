// Inheriting a student's weights from the teacher, in the spirit of Minitron
// (Muralidharan et al. 2024): activations of the teacher on a calibration
// batch rank its layers (block importance, 1 - cos(input, output)), residual
// channels (|LayerNorm outputs|), attention heads (per-head output norms),
// head dimensions (|q*k| and |v|) and MLP neurons (|GELU activations|); the
// student keeps the most important ones, in their original order, and copies
// the matching slices. Where the student is larger than the teacher in some
// dimension, the extra part keeps its scratch initialisation. Low-rank
// students get the SVD factors of the inherited dense weights.
#pragma once

#include <string>

#include "search/status.h"
#include "workers/gpt.h"
#include "workers/teacher.h"

namespace kdnas {

// The teacher as a dense Gpt: kdnas teachers (the archive has
// kdnas/architecture.json and the parameters of workers/torchscript_export.h)
// and imported GPT-2 checkpoints (workers/hf_as_gpt.h). FAILED_PRECONDITION
// with the reason for any other teacher.
StatusOr<Gpt> TeacherAsGpt(Teacher& teacher);

// Overwrites `student`'s weights (already scratch-initialised) with the
// teacher's most important slices. calibration_x: int64 [B, T] training
// windows, T <= both context lengths. *summary describes what was kept.
Status InheritFromTeacher(GptImpl& student, GptImpl& teacher, const torch::Tensor& calibration_x,
                          std::string* summary = nullptr);

}  // namespace kdnas
