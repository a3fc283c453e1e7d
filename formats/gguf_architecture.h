// A kdnas model (a student, or a teacher of the same families) as llama.cpp
// reads it from a GGUF file, before any weight: the architecture's metadata
// under the names llama.cpp looks up (src/llama-arch.cpp, LLM_KV_*) and the
// tensors it loads (src/models/{gpt2,llama,qwen2}.cpp), each with its name,
// its ggml shape (row length first), the type it is stored in and the part
// of the model it holds. Torch-free: the worker fills the tensors
// (workers/gguf_export.h), and the size of the file follows from this alone.
//
// Families: gpt2 -> "gpt2" (learned positions, fused QKV, LayerNorm, biases),
// llama -> "llama", qwen2 -> "qwen2". llama.cpp's llama applies rotary
// embeddings to pairs of adjacent values where Hugging Face's rotate the two
// halves of a head, so a llama model's q and k rows are permuted
// (rope_permute_heads); qwen2 uses llama.cpp's NeoX mode, the halves, and
// needs none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/gguf_file.h"
#include "formats/gguf_writer.h"
#include "formats/hf_tensor_map.h"
#include "search/candidate.h"
#include "search/ggml_types.h"
#include "search/status.h"

namespace kdnas {

// What a tensor is, for the per-class formats (weight_format's overrides).
enum class GgufTensorClass {
  kTokenEmbedding,     // token_embd.weight (also the output head when tied)
  kPositionEmbedding,  // gpt2's position_embd.weight
  kAttention,          // attn_q/k/v/qkv/output weights
  kFfn,                // ffn_gate/up/down weights
  kOutput,             // output.weight (an untied head)
  kVector,             // norms and biases: always F32
};

// The type asked for each class of matrix, before llama.cpp's fallback for
// rows the type's block does not divide (GgmlFallbackType).
struct GgufWeightTypes {
  GgmlType token_embedding = GgmlType::kF16;
  GgmlType attention = GgmlType::kF16;
  GgmlType ffn = GgmlType::kF16;
  GgmlType output = GgmlType::kF16;
  // Positions are not quantized (llama-quantize leaves position_embd as the
  // source stores it): F16, or F32 in an all-F32 file.
  GgmlType position = GgmlType::kF16;

  // Every class in `type` (weight_format alone).
  static GgufWeightTypes All(GgmlType type);
};

// The types of a student's formats (formats.set(): weight_format and its
// overrides).
GgufWeightTypes GgufWeightTypesOf(const GgufFormats& formats);

struct GgufModelTensor {
  GgufTensorInfo info;  // name, ggml shape, the type stored (after the fallback)
  GgufTensorClass tensor_class = GgufTensorClass::kVector;
  HfPart part = HfPart::kTokenEmbedding;  // the student's tensor it holds (StudentTensor)
  int64_t layer = -1;
  // The Hugging Face layout stores the matrix [in, out] (GPT-2's Conv1D):
  // GGUF wants it transposed, [out, in] rows.
  bool transpose = false;
  // > 0: rows permuted from Hugging Face's rotary layout to llama.cpp's, in
  // this many heads (the llama family's q and k).
  int rope_permute_heads = 0;
  // A tensor that follows from the architecture rather than holding a
  // student's weights (llama's rope_freqs.weight): its F32 values.
  std::vector<float> computed;
};

// llama.cpp's name of the family's architecture: "gpt2", "llama", "qwen2".
const char* GgufArchitectureName(FamilyKind kind);

// The tensors of `architecture` over `vocab_size` logits, in llama.cpp's
// load order. FAILED_PRECONDITION with the reason for what llama.cpp cannot
// run: GPT-2 layers of different widths or heads (its gpt2 tensors are
// uniform), GPT-2 heads of another width than d_model / num_heads, a llama3
// rotary scaling outside the llama family. A llama model with llama3 scaling
// carries rope_freqs.weight, each rotary frequency's divisor, as
// convert_hf_to_gguf.py writes it.
StatusOr<std::vector<GgufModelTensor>> GgufModelTensors(const Architecture& architecture,
                                                        int64_t vocab_size,
                                                        const GgufWeightTypes& types);

// The architecture's metadata: general.architecture, general.name,
// general.file_type (the llama_ftype of the feed-forward type, as
// llama-quantize labels a mix by it), general.quantization_version when a
// tensor is quantized, and the hyperparameters under "<arch>.". Per-layer
// heads and widths of a llama or qwen2 model are written as arrays when they
// differ. The tokenizer's keys come from GgufTokenizerMetadata.
StatusOr<GgufMetadata> GgufArchitectureMetadata(const Architecture& architecture,
                                                int64_t vocab_size, const std::string& name,
                                                const std::vector<GgufModelTensor>& tensors);

// Everything the GGUF file of such a model holds but its weights: the
// metadata (the architecture's, then `tokenizer_metadata`) and the tensors.
// The writer (workers/gguf_export.h) and GgufModelFileBytes both lay a file
// out from it, so the predicted size is the written one.
struct GgufModelLayout {
  GgufMetadata metadata;
  std::vector<GgufModelTensor> tensors;
};
StatusOr<GgufModelLayout> GgufModelLayoutOf(const Architecture& architecture, int64_t vocab_size,
                                            const GgufWeightTypes& types, const std::string& name,
                                            const GgufMetadata& tokenizer_metadata);

// The exact size in bytes of that file, without its weights: the cost
// model's size of a GGUF student.
StatusOr<int64_t> GgufModelFileBytes(const Architecture& architecture, int64_t vocab_size,
                                     const GgufWeightTypes& types, const std::string& name,
                                     const GgufMetadata& tokenizer_metadata);

// The type of each tensor, by name without its "blk.N." and in file order,
// skipping F32 vectors: "token_embd.weight q4_k, attn_qkv.weight q4_k,
// ffn_down.weight q5_0". A name whose layers differ lists each type once
// ("q4_k/q5_0"). Trial.gguf_tensor_types.
std::string GgufTensorTypesText(const std::vector<GgufTensorInfo>& tensors);

// llama.cpp's enum llama_ftype for a file whose feed-forward matrices are
// `type` ("mostly q4_0"): 0 all F32, 1 F16, 2 Q4_0, ..., 32 BF16.
uint32_t GgufFileType(GgmlType type);

}  // namespace kdnas
