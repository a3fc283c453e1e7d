// The exact layout of the packed student artifact of docs/artifact-format.md:
// every tensor in canonical order with its encoding and byte counts. The cost
// model sums it to predict size_bytes; the worker iterates it to write the
// file, so the prediction is exact by construction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "search/candidate.h"

namespace kdnas {

constexpr int64_t kArtifactHeaderBytes = 128;
constexpr int64_t kArtifactLayerEntryBytes = 12;
constexpr int64_t kArtifactTensorHeaderBytes = 20;
// 3: the block family (GPT-2, Llama, Qwen2) with its norm epsilon, rotary
// embedding and key/value heads. Version 2 files (GPT-2 blocks only, a
// 64-byte header) and version 1 files (trained with the exact erf GELU) are
// refused with the reason.
constexpr uint32_t kArtifactFormatVersion = 3;

enum class TensorRole { kVector = 0, kEmbedding = 1, kLinear = 2, kHead = 3 };
enum class SparseEncoding { kDense = 0, kBitmap = 1, kNofM = 2 };

struct TensorLayout {
  std::string name;  // e.g. "layers.0.attn.qkv.u"; 1-D tensors have rows = 1
  TensorRole role = TensorRole::kVector;
  int64_t rows = 0;
  int64_t cols = 0;
  int bits = 16;       // 16 = fp16, else symmetric integers with fp16 scales
  int group_size = 0;  // in effect: 0 at 16 bits, cols when per-channel
  SparseEncoding sparse = SparseEncoding::kDense;
  int n = 0;  // N:M only
  int m = 0;
  int64_t kept = 0;            // weights not pruned
  int64_t stored_values = 0;   // values in the payload (rows*cols when dense)
  int64_t metadata_bytes = 0;  // bitmap or N:M indices
  int64_t scale_bytes = 0;
  int64_t value_bytes = 0;

  int64_t numel() const { return rows * cols; }
  int64_t groups_per_row() const {
    return group_size > 0 ? (cols + group_size - 1) / group_size : 0;
  }
  int64_t payload_bytes() const { return metadata_bytes + scale_bytes + value_bytes; }
  int64_t total_bytes() const { return kArtifactTensorHeaderBytes + payload_bytes(); }
};

struct ArtifactLayout {
  int64_t header_bytes = kArtifactHeaderBytes;
  int64_t layer_table_bytes = 0;
  int64_t tokenizer_bytes = 0;
  std::vector<TensorLayout> tensors;
  int64_t total_bytes = 0;
};

// Weights kept when pruning `numel` weights to sparsity s:
// numel - round(s * numel), rounding half away from zero.
int64_t KeptCount(int64_t numel, double sparsity);

// Rank of the low-rank factorisation of an [out, in] linear at `ratio`, or 0
// when it is not factorised (ratio 0, or the factors would not be smaller).
int64_t LowRankRank(int64_t out, int64_t in, double ratio);

// The layout for a (valid) candidate; vocab_size and tokenizer_bytes come from
// the tokenizer (search/tokenizer.h). Without `with_names` the tensors' names
// are left empty (the cost model needs only sizes, and is on a hot path).
ArtifactLayout LayoutArtifact(const Candidate& candidate, int64_t vocab_size,
                              int64_t tokenizer_bytes, bool with_names = true);

}  // namespace kdnas
