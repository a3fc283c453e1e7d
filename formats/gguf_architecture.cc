#include "formats/gguf_architecture.h"

#include <algorithm>
#include <iterator>

#include "search/rope.h"

namespace kdnas {
namespace {

bool UniformLayers(const Architecture& a) {
  for (int l = 1; l < a.num_layers; ++l) {
    if (a.layer_heads(l) != a.layer_heads(0) || a.layer_d_ff(l) != a.layer_d_ff(0) ||
        a.layer_kv_heads(l) != a.layer_kv_heads(0))
      return false;
  }
  return true;
}

// Appends tensors in llama.cpp's load order.
class TensorList {
 public:
  TensorList(const GgufWeightTypes& types) : types_(types) {}

  // A matrix stored [rows, cols] as torch stores a Linear's weight: ggml
  // shape {cols, rows}, its class's type with the fallback for cols.
  void Matrix(std::string name, HfPart part, int64_t layer, GgufTensorClass cls, int64_t rows,
              int64_t cols, bool transpose = false, int rope_heads = 0) {
    GgufModelTensor t;
    t.info.name = std::move(name);
    t.info.shape = {cols, rows};
    t.info.type = GgmlFallbackType(TypeOf(cls), cols);
    t.tensor_class = cls;
    t.part = part;
    t.layer = layer;
    t.transpose = transpose;
    t.rope_permute_heads = rope_heads;
    tensors_.push_back(std::move(t));
  }
  void Vector(std::string name, HfPart part, int64_t layer, int64_t size) {
    GgufModelTensor t;
    t.info.name = std::move(name);
    t.info.shape = {size};
    t.info.type = GgmlType::kF32;
    t.part = part;
    t.layer = layer;
    tensors_.push_back(std::move(t));
  }
  void Computed(std::string name, std::vector<float> values) {
    GgufModelTensor t;
    t.info.name = std::move(name);
    t.info.shape = {static_cast<int64_t>(values.size())};
    t.info.type = GgmlType::kF32;
    t.computed = std::move(values);
    tensors_.push_back(std::move(t));
  }
  std::vector<GgufModelTensor> Take() { return std::move(tensors_); }

 private:
  GgmlType TypeOf(GgufTensorClass cls) const {
    switch (cls) {
      case GgufTensorClass::kTokenEmbedding:
        return types_.token_embedding;
      case GgufTensorClass::kPositionEmbedding:
        return types_.position;
      case GgufTensorClass::kAttention:
        return types_.attention;
      case GgufTensorClass::kFfn:
        return types_.ffn;
      case GgufTensorClass::kOutput:
        return types_.output;
      case GgufTensorClass::kVector:
        break;
    }
    return GgmlType::kF32;
  }

  GgufWeightTypes types_;
  std::vector<GgufModelTensor> tensors_;
};

std::string Blk(int64_t layer, const char* what) {
  return "blk." + std::to_string(layer) + "." + what;
}

void Gpt2Tensors(const Architecture& a, int64_t vocab, TensorList* list) {
  const int64_t d = a.d_model;
  list->Matrix("token_embd.weight", HfPart::kTokenEmbedding, -1, GgufTensorClass::kTokenEmbedding,
               vocab, d);
  list->Matrix("position_embd.weight", HfPart::kPositionEmbedding, -1,
               GgufTensorClass::kPositionEmbedding, a.context_length, d);
  list->Vector("output_norm.weight", HfPart::kFinalNorm, -1, d);
  list->Vector("output_norm.bias", HfPart::kFinalNormBias, -1, d);
  if (!a.tie_embeddings)
    list->Matrix("output.weight", HfPart::kOutput, -1, GgufTensorClass::kOutput, vocab, d);
  const int64_t kv = static_cast<int64_t>(a.layer_kv_heads(0)) * a.head_dim();
  const int64_t ff = a.layer_d_ff(0);
  for (int64_t l = 0; l < a.num_layers; ++l) {
    const auto attn = GgufTensorClass::kAttention;
    const auto ffn = GgufTensorClass::kFfn;
    list->Vector(Blk(l, "attn_norm.weight"), HfPart::kAttentionNorm, l, d);
    list->Vector(Blk(l, "attn_norm.bias"), HfPart::kAttentionNormBias, l, d);
    list->Matrix(Blk(l, "attn_qkv.weight"), HfPart::kQkv, l, attn, d + 2 * kv, d, true);
    list->Vector(Blk(l, "attn_qkv.bias"), HfPart::kQkvBias, l, d + 2 * kv);
    list->Matrix(Blk(l, "attn_output.weight"), HfPart::kAttentionOutput, l, attn, d, d, true);
    list->Vector(Blk(l, "attn_output.bias"), HfPart::kAttentionOutputBias, l, d);
    list->Vector(Blk(l, "ffn_norm.weight"), HfPart::kMlpNorm, l, d);
    list->Vector(Blk(l, "ffn_norm.bias"), HfPart::kMlpNormBias, l, d);
    list->Matrix(Blk(l, "ffn_down.weight"), HfPart::kDown, l, ffn, d, ff, true);
    list->Vector(Blk(l, "ffn_down.bias"), HfPart::kDownBias, l, d);
    list->Matrix(Blk(l, "ffn_up.weight"), HfPart::kUp, l, ffn, ff, d, true);
    list->Vector(Blk(l, "ffn_up.bias"), HfPart::kUpBias, l, ff);
  }
}

// llama.cpp divides rotary frequency i by rope_freqs[i]: the unscaled
// frequency over the llama3-scaled one.
std::vector<float> Llama3RopeFactors(const Rope& rope, int64_t head_dim) {
  Rope unscaled = rope;
  unscaled.scaling = Rope::Scaling::kNone;
  const std::vector<double> base = RopeInverseFrequencies(unscaled, head_dim);
  const std::vector<double> scaled = RopeInverseFrequencies(rope, head_dim);
  std::vector<float> factors;
  for (size_t i = 0; i < base.size(); ++i)
    factors.push_back(static_cast<float>(base[i] / scaled[i]));
  return factors;
}

void LlamaTensors(const Architecture& a, int64_t vocab, TensorList* list) {
  const int64_t d = a.d_model, hd = a.head_dim();
  const bool llama = a.family.kind == FamilyKind::kLlama;  // qwen2: NeoX rotary, q/k/v biases
  list->Matrix("token_embd.weight", HfPart::kTokenEmbedding, -1, GgufTensorClass::kTokenEmbedding,
               vocab, d);
  if (a.family.rope.scaling == Rope::Scaling::kLlama3)
    list->Computed("rope_freqs.weight", Llama3RopeFactors(a.family.rope, hd));
  list->Vector("output_norm.weight", HfPart::kFinalNorm, -1, d);
  if (!a.tie_embeddings)
    list->Matrix("output.weight", HfPart::kOutput, -1, GgufTensorClass::kOutput, vocab, d);
  for (int64_t l = 0; l < a.num_layers; ++l) {
    const int heads = a.layer_heads(static_cast<int>(l));
    const int kv_heads = a.layer_kv_heads(static_cast<int>(l));
    const int64_t q = heads * hd, kv = kv_heads * hd, ff = a.layer_d_ff(static_cast<int>(l));
    const auto attn = GgufTensorClass::kAttention;
    const auto ffn = GgufTensorClass::kFfn;
    list->Vector(Blk(l, "attn_norm.weight"), HfPart::kAttentionNorm, l, d);
    list->Matrix(Blk(l, "attn_q.weight"), HfPart::kQuery, l, attn, q, d, false, llama ? heads : 0);
    list->Matrix(Blk(l, "attn_k.weight"), HfPart::kKey, l, attn, kv, d, false,
                 llama ? kv_heads : 0);
    list->Matrix(Blk(l, "attn_v.weight"), HfPart::kValue, l, attn, kv, d);
    if (!llama) {
      list->Vector(Blk(l, "attn_q.bias"), HfPart::kQueryBias, l, q);
      list->Vector(Blk(l, "attn_k.bias"), HfPart::kKeyBias, l, kv);
      list->Vector(Blk(l, "attn_v.bias"), HfPart::kValueBias, l, kv);
    }
    list->Matrix(Blk(l, "attn_output.weight"), HfPart::kAttentionOutput, l, attn, d, q);
    list->Vector(Blk(l, "ffn_norm.weight"), HfPart::kMlpNorm, l, d);
    list->Matrix(Blk(l, "ffn_gate.weight"), HfPart::kGate, l, ffn, ff, d);
    list->Matrix(Blk(l, "ffn_down.weight"), HfPart::kDown, l, ffn, d, ff);
    list->Matrix(Blk(l, "ffn_up.weight"), HfPart::kUp, l, ffn, ff, d);
  }
}

GgufValue LayerValues(const Architecture& a, int (Architecture::*per_layer)(int) const) {
  std::vector<int32_t> values;
  for (int l = 0; l < a.num_layers; ++l) values.push_back((a.*per_layer)(l));
  if (std::all_of(values.begin(), values.end(), [&](int32_t v) { return v == values[0]; }))
    return static_cast<uint32_t>(values[0]);
  return values;
}

}  // namespace

GgufWeightTypes GgufWeightTypes::All(GgmlType type) {
  GgufWeightTypes t;
  t.token_embedding = t.attention = t.ffn = t.output = type;
  t.position = type == GgmlType::kF32 ? GgmlType::kF32 : GgmlType::kF16;
  return t;
}

GgufWeightTypes GgufWeightTypesOf(const GgufFormats& formats) {
  GgufWeightTypes types = GgufWeightTypes::All(*formats.weight);
  types.attention = formats.attention_type();
  types.ffn = formats.ffn_type();
  types.token_embedding = formats.embedding_type();
  types.output = formats.output_type();
  return types;
}

std::string GgufTensorTypesText(const std::vector<GgufTensorInfo>& tensors) {
  std::vector<std::pair<std::string, std::vector<GgmlType>>> names;
  for (const GgufTensorInfo& t : tensors) {
    if (t.type == GgmlType::kF32 && t.shape.size() == 1) continue;
    std::string name = t.name;
    if (name.rfind("blk.", 0) == 0) name = name.substr(name.find('.', 4) + 1);
    auto it = std::find_if(names.begin(), names.end(),
                           [&](const auto& entry) { return entry.first == name; });
    if (it == names.end()) it = names.insert(names.end(), {name, {}});
    if (std::find(it->second.begin(), it->second.end(), t.type) == it->second.end())
      it->second.push_back(t.type);
  }
  std::string text;
  for (const auto& [name, types] : names) {
    if (!text.empty()) text.append(", ");
    text.append(name).append(" ");
    for (size_t i = 0; i < types.size(); ++i) {
      if (i > 0) text.append("/");
      text.append(GgmlTypeName(types[i]));
    }
  }
  return text;
}

const char* GgufArchitectureName(FamilyKind kind) {
  switch (kind) {
    case FamilyKind::kLlama:
      return "llama";
    case FamilyKind::kQwen2:
      return "qwen2";
    case FamilyKind::kGpt2:
      break;
  }
  return "gpt2";
}

uint32_t GgufFileType(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return 0;
    case GgmlType::kF16:
      return 1;
    case GgmlType::kQ4_0:
      return 2;
    case GgmlType::kQ4_1:
      return 3;
    case GgmlType::kQ8_0:
      return 7;
    case GgmlType::kQ5_0:
      return 8;
    case GgmlType::kQ5_1:
      return 9;
    case GgmlType::kQ2_K:
      return 10;
    case GgmlType::kQ3_K:
      return 11;  // Q3_K_S: every matrix q3_K
    case GgmlType::kQ4_K:
      return 14;  // Q4_K_S
    case GgmlType::kQ5_K:
      return 16;  // Q5_K_S
    case GgmlType::kQ6_K:
      return 18;
    case GgmlType::kBF16:
      return 32;
  }
  return 1;
}

StatusOr<std::vector<GgufModelTensor>> GgufModelTensors(const Architecture& architecture,
                                                        int64_t vocab_size,
                                                        const GgufWeightTypes& types) {
  const Architecture& a = architecture;
  if (a.num_layers <= 0 || a.d_model <= 0 || vocab_size <= 0)
    return InvalidArgument("GGUF: an architecture without layers, width or vocabulary");
  TensorList list(types);
  if (a.family.kind == FamilyKind::kGpt2) {
    if (!UniformLayers(a)) {
      return FailedPrecondition(
          "GGUF: llama.cpp's gpt2 architecture has layers of one width and head count; this "
          "student's differ (keep a GPT-2-family job's layers uniform for a GGUF format)");
    }
    if (a.head_dim() * a.layer_heads(0) != a.d_model) {
      return FailedPrecondition(
          "GGUF: llama.cpp's gpt2 architecture needs heads of d_model / "
          "num_heads values");
    }
    Gpt2Tensors(a, vocab_size, &list);
  } else {
    if (a.family.rope.scaling == Rope::Scaling::kLlama3 && a.family.kind != FamilyKind::kLlama) {
      return FailedPrecondition(
          "GGUF: llama.cpp reads a llama3 rotary scaling (rope_freqs) only for the llama "
          "architecture");
    }
    LlamaTensors(a, vocab_size, &list);
  }
  return list.Take();
}

StatusOr<GgufMetadata> GgufArchitectureMetadata(const Architecture& architecture,
                                                int64_t vocab_size, const std::string& name,
                                                const std::vector<GgufModelTensor>& tensors) {
  const Architecture& a = architecture;
  const std::string arch = GgufArchitectureName(a.family.kind);
  GgmlType ffn_type = GgmlType::kF32;
  bool quantized = false;
  for (const GgufModelTensor& t : tensors) {
    quantized = quantized || GgmlTypeOf(t.info.type).quantized;
    if (t.tensor_class == GgufTensorClass::kFfn) ffn_type = t.info.type;
  }
  GgufMetadata m;
  auto put = [&](std::string key, GgufValue value) {
    m.push_back({std::move(key), std::move(value)});
  };
  put("general.architecture", arch);
  put("general.name", name);
  put("general.file_type", GgufFileType(ffn_type));
  if (quantized) put("general.quantization_version", uint32_t{2});  // GGML_QNT_VERSION
  const std::string p = arch + ".";
  put(p + "vocab_size", static_cast<uint32_t>(vocab_size));
  put(p + "context_length", static_cast<uint32_t>(a.context_length));
  put(p + "embedding_length", static_cast<uint32_t>(a.d_model));
  put(p + "block_count", static_cast<uint32_t>(a.num_layers));
  put(p + "feed_forward_length", LayerValues(a, &Architecture::layer_d_ff));
  put(p + "attention.head_count", LayerValues(a, &Architecture::layer_heads));
  put(p + "attention.head_count_kv", LayerValues(a, &Architecture::layer_kv_heads));
  if (a.family.kind == FamilyKind::kGpt2) {
    put(p + "attention.layer_norm_epsilon", static_cast<float>(a.family.norm_eps));
    return m;
  }
  put(p + "attention.layer_norm_rms_epsilon", static_cast<float>(a.family.norm_eps));
  // llama.cpp derives a head's width from the first layer's head count.
  if (a.head_dim() * a.layer_heads(0) != a.d_model) {
    put(p + "attention.key_length", static_cast<uint32_t>(a.head_dim()));
    put(p + "attention.value_length", static_cast<uint32_t>(a.head_dim()));
  }
  put(p + "rope.dimension_count", static_cast<uint32_t>(a.head_dim()));
  put(p + "rope.freq_base", static_cast<float>(a.family.rope.theta));
  if (a.family.rope.scaling == Rope::Scaling::kLinear) {
    put(p + "rope.scaling.type", std::string("linear"));
    put(p + "rope.scaling.factor", static_cast<float>(a.family.rope.factor));
  }
  return m;
}

StatusOr<GgufModelLayout> GgufModelLayoutOf(const Architecture& architecture, int64_t vocab_size,
                                            const GgufWeightTypes& types, const std::string& name,
                                            const GgufMetadata& tokenizer_metadata) {
  GgufModelLayout layout;
  KDNAS_ASSIGN_OR_RETURN(layout.tensors, GgufModelTensors(architecture, vocab_size, types));
  KDNAS_ASSIGN_OR_RETURN(layout.metadata,
                         GgufArchitectureMetadata(architecture, vocab_size, name, layout.tensors));
  layout.metadata.insert(layout.metadata.end(), tokenizer_metadata.begin(),
                         tokenizer_metadata.end());
  return layout;
}

StatusOr<int64_t> GgufModelFileBytes(const Architecture& architecture, int64_t vocab_size,
                                     const GgufWeightTypes& types, const std::string& name,
                                     const GgufMetadata& tokenizer_metadata) {
  KDNAS_ASSIGN_OR_RETURN(GgufModelLayout layout, GgufModelLayoutOf(architecture, vocab_size, types,
                                                                   name, tokenizer_metadata));
  std::vector<GgufTensorInfo> infos;
  for (const GgufModelTensor& t : layout.tensors) infos.push_back(t.info);
  return GgufFileBytes(layout.metadata, infos);
}

}  // namespace kdnas
