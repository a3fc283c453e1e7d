// A Hugging Face checkpoint as the controller reads it at submission: a
// directory in the save_pretrained layout, or an uncompressed tar of one (what
// `kdnas submit` uploads). It reads config.json, the tokenizer's files and
// every safetensors header, never the weights, and checks the tensors against
// the architecture's table, so a checkpoint kdnas would run wrongly is refused
// before any trial.
#pragma once

#include <cstdint>
#include <string>

#include "formats/hf_config.h"
#include "formats/safetensors_index.h"
#include "formats/text_tokenizer.h"
#include "search/status.h"

namespace kdnas {

// The small files kdnas reads from a checkpoint besides the weights.
inline constexpr const char* kHfSmallFiles[] = {"config.json",
                                                "generation_config.json",
                                                "tokenizer.json",
                                                "tokenizer_config.json",
                                                "special_tokens_map.json",
                                                "added_tokens.json",
                                                "vocab.json",
                                                "merges.txt",
                                                "tokenizer.model",
                                                "model.safetensors.index.json"};
// Larger small files are refused (Qwen2's tokenizer.json, the largest of
// the supported families, is about 7 MB).
inline constexpr int64_t kHfMaxSmallFileBytes = 64 << 20;

struct HfCheckpointHeaders {
  HfModelConfig config;
  // The weights' tensor names start with this (see HfTensorTable).
  std::string name_prefix;
  // The small files present, by name (config.json and the tokenizer's).
  TokenizerFiles files;
  int64_t parameters = 0;    // elements of the tensors the model uses
  int64_t weight_bytes = 0;  // their bytes as stored
  std::string weight_dtype;  // "F32", "F16", "BF16", or "mixed"
};

// Checks `checkpoint`'s tensors against config's table: each one present
// with its shape and a dtype of F32, F16 or BF16, and no tensor the
// architecture does not have (but IsIgnoredHfTensor's). INVALID_ARGUMENT
// naming the tensor. Fills name_prefix, parameters, weight_bytes and
// weight_dtype of `headers`.
Status CheckHfTensors(const SafetensorsCheckpoint& checkpoint, HfCheckpointHeaders* headers);

// Reads the checkpoint at `path` (a directory, or a tar file of one).
// INVALID_ARGUMENT naming the file and key or tensor for what kdnas does not
// run; DATA_LOSS for corrupt files; NOT_FOUND for a missing config.json or
// weights.
StatusOr<HfCheckpointHeaders> ReadHfCheckpointHeaders(const std::string& path);

}  // namespace kdnas
