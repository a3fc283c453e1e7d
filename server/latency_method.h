// How a job measures its trials' latency (Job.latency_method), chosen once at
// submission so every trial of the job is measured the same way: llama.cpp
// on the students' GGUF files when the teacher and every student of the
// space can be GGUF files llama.cpp runs, else LibTorch, with the reason.
#pragma once

#include <string>

#include "kdnas/v1/job.pb.h"

namespace kdnas {

struct LatencyMethodChoice {
  v1::LatencyMethod method = v1::LATENCY_METHOD_TORCH;
  std::string reason;  // why not llama.cpp; empty for llama.cpp
};

// `spec` with its student family set (SetStudentFamily); `data` and
// `teacher` as InspectJobInputs read them.
LatencyMethodChoice ChooseLatencyMethod(const v1::JobSpec& spec, const v1::DataInfo& data,
                                        const v1::TeacherInfo& teacher);

// Whether the job's multi-fidelity rungs compare latency as well as size and
// loss: latency_ms or tokens_per_second is an objective and the job measures
// latency with llama.cpp (whose latency the worker can take on the student's
// GGUF file before training: TrialWork.latency_at_rungs).
bool RungsCompareLatency(const v1::Job& job);

}  // namespace kdnas
