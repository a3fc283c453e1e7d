// The cost model's size of a student with a weight_format: the exact bytes
// of the GGUF file the worker writes for it (workers/gguf_export.h), from the
// architecture, the types and the byte count of the job's tokenizer metadata
// alone, so the controller prices candidates without the tokenizer and
// without laying its (large) metadata out again for each one.
#pragma once

#include <cstdint>
#include <functional>

#include "formats/gguf_file.h"
#include "formats/job_tokenizer.h"
#include "search/candidate.h"
#include "search/status.h"

namespace kdnas {

// general.name of every trial's GGUF file (part of its size).
inline constexpr const char* kGgufStudentName = "kdnas student";

// Bytes the key-value pairs of `metadata` take in a GGUF file.
StatusOr<int64_t> GgufMetadataBytes(const GgufMetadata& metadata);
// GgufMetadataBytes of the tokenizer's GGUF metadata (GgufTokenizerMetadata,
// whose FAILED_PRECONDITION says why a tokenizer is not written yet).
StatusOr<int64_t> GgufTokenizerMetadataBytes(const JobTokenizer& tokenizer);

// The bytes of the GGUF file of `candidate` (its formats set), named
// kGgufStudentName, whose tokenizer metadata takes `tokenizer_metadata_bytes`
// (GgufMetadataBytes of GgufTokenizerMetadata): GgufModelFileBytes without
// the metadata itself. The error of GgufModelTensors for what llama.cpp
// cannot run.
StatusOr<int64_t> GgufStudentFileBytes(const Candidate& candidate, int64_t vocab_size,
                                       int64_t tokenizer_metadata_bytes);

// ModelContext::gguf_file_bytes for a job: GgufStudentFileBytes, -1 for an
// error (candidates are validated first: ValidateCandidate refuses what
// llama.cpp cannot run).
std::function<int64_t(const Candidate&)> GgufStudentSizer(int64_t vocab_size,
                                                          int64_t tokenizer_metadata_bytes);

}  // namespace kdnas
