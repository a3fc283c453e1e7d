// Inheriting a student's weights from the teacher, in the spirit of Minitron
// (Muralidharan et al. 2024): activations of the teacher on a calibration
// batch rank its layers (block importance, 1 - cos(input, output)), residual
// channels (|norm outputs|), attention heads (per-head output norms) and MLP
// neurons (|GELU activations|, or |silu(gate) * up|); the student keeps the
// most important ones, in their original order, and copies the matching
// slices. GPT-2 students also keep each head's most important dimensions
// (|q*k| and |v|); Llama-family students keep whole heads of the teacher's
// head_dim and rank KV groups first, then query heads within each group.
// Where the student is larger than the teacher in some dimension, the extra
// part keeps its scratch initialisation. Low-rank students get the SVD
// factors of the inherited dense weights. Student and teacher are of one
// family (the controller makes a job's students of its teacher's).
#pragma once

#include <string>

#include "search/status.h"
#include "workers/gpt.h"
#include "workers/teacher.h"

namespace kdnas {

// The teacher as a dense Gpt: kdnas teachers (the archive has
// kdnas/architecture.json and the parameters of workers/torchscript_export.h)
// and imported checkpoints of every family (workers/hf_as_gpt.h). FAILED_PRECONDITION
// with the reason for any other teacher.
StatusOr<Gpt> TeacherAsGpt(Teacher& teacher);

// Overwrites `student`'s weights (already scratch-initialised) with the
// teacher's most important slices. calibration_x: int64 [B, T] training
// windows, T <= both context lengths. *summary describes what was kept.
// FAILED_PRECONDITION with the reason when the student cannot inherit
// (another vocabulary or family, a Llama-family head_dim not the teacher's).
Status InheritFromTeacher(GptImpl& student, GptImpl& teacher, const torch::Tensor& calibration_x,
                          std::string* summary = nullptr);

}  // namespace kdnas
