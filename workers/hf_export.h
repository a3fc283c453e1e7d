// Writes a student in its teacher's Hugging Face layout, so it loads where
// the teacher loaded: config.json (formats/hf_config_json.h), one
// model.safetensors with the student's weights as they run (quantized values
// dequantized; pruned weights zero and low-rank factors multiplied out, so
// sparsity and low rank are stored dense) in `dtype`, and the tokenizer
// files the student carries. kdnas imports the directory back as a teacher
// with the same logits (within 1e-4 in F32).
#pragma once

#include <string>

#include "formats/job_tokenizer.h"
#include "formats/safetensors.h"
#include "search/status.h"
#include "workers/gpt.h"

namespace kdnas {

// FAILED_PRECONDITION with the reason when the student has no Hugging Face
// form (a kdnas char/byte tokenizer; layers of different widths or heads:
// HfConfigOfStudent) or `dir` exists. dtype: F32, F16 or BF16.
Status WriteHfCheckpoint(GptImpl& student, const JobTokenizer& tokenizer, const std::string& dir,
                         SafetensorsDtype dtype);

}  // namespace kdnas
