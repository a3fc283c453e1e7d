// Writes a kdnas model as a GGUF file that llama.cpp runs: the architecture's
// metadata and tensors (formats/gguf_architecture.h), the tokenizer
// (formats/gguf_tokenizer.h), and each matrix quantized by llama.cpp's own
// reference quantizer for its type (formats/ggml_quants.h) from the weights
// as the student runs them (low-rank factors multiplied out, pruned weights
// zero: StudentTensor).
#pragma once

#include <string>
#include <vector>

#include "formats/gguf_architecture.h"
#include "formats/gguf_writer.h"
#include "formats/job_tokenizer.h"
#include "search/status.h"
#include "workers/gpt.h"

namespace kdnas {

struct GgufExportResult {
  int64_t file_bytes = 0;
  // Every tensor with the type it was stored in (after llama.cpp's fallback).
  std::vector<GgufTensorInfo> tensors;
};

// A writer holding the model's metadata and tensors, the bytes produced as
// the file is written. FAILED_PRECONDITION with the reason for a model
// llama.cpp cannot run (GgufModelTensors) or a tokenizer not written yet.
StatusOr<GgufWriter> GgufWriterOf(GptImpl& model, const JobTokenizer& tokenizer,
                                  const GgufWeightTypes& types, const std::string& name);

// The tensor types of a student's GGUF file: its weight_format's, or F16
// (its weights as they run) for a student in kdnas's own formats.
GgufWeightTypes StudentGgufTypes(const Compression& compression);

// Writes the GGUF file at `path` (through a temporary file renamed into place).
StatusOr<GgufExportResult> WriteGgufFile(GptImpl& model, const JobTokenizer& tokenizer,
                                         const GgufWeightTypes& types, const std::string& name,
                                         const std::string& path);

// Sets every matrix of `model` to what its GGUF file holds: the values
// llama.cpp dequantizes from `types` (F32 tensors as they are). A dense model
// (no low rank). What the model computes after it is what llama.cpp
// computes from the file, but for llama.cpp's own arithmetic (activations
// quantized for quantized dot products, f16 attention by default).
Status RoundToGguf(GptImpl& model, const GgufWeightTypes& types);

}  // namespace kdnas
