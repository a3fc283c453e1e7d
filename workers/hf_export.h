// Writes a student in its teacher's Hugging Face layout, so it loads where
// the teacher loaded: config.json (formats/hf_config_json.h), one
// model.safetensors with the student's weights as they run (quantized values
// dequantized; pruned weights zero and low-rank factors multiplied out, so
// sparsity and low rank are stored dense) in `dtype`, and the tokenizer
// files the student carries. kdnas imports the directory back as a teacher
// with the same logits (within 1e-4 in F32).
#pragma once

#include <map>
#include <string>

#include "formats/job_tokenizer.h"
#include "formats/safetensors.h"
#include "search/status.h"
#include "workers/gpt.h"

namespace kdnas {

// The checkpoint's files by name (config.json, model.safetensors, the
// tokenizer's files). FAILED_PRECONDITION with the reason when the student
// has no Hugging Face form (a kdnas char/byte tokenizer; layers of different
// widths or heads: HfConfigOf). dtype: F32, F16 or BF16.
StatusOr<std::map<std::string, std::string>> HfCheckpointFiles(GptImpl& student,
                                                               const JobTokenizer& tokenizer,
                                                               SafetensorsDtype dtype);

// Writes them into the new directory `dir` (FAILED_PRECONDITION if it exists).
Status WriteHfCheckpoint(GptImpl& student, const JobTokenizer& tokenizer, const std::string& dir,
                         SafetensorsDtype dtype);

}  // namespace kdnas
