#include "workers/gguf_export.h"

#include <filesystem>

#include "formats/ggml_quants.h"
#include "formats/gguf_tokenizer.h"
#include "workers/student_as_hf.h"

namespace kdnas {
namespace {

// Hugging Face's rotary layout (the two halves of each head) to llama.cpp's
// (adjacent pairs), as convert_hf_to_gguf.py permutes q_proj and k_proj.
torch::Tensor PermuteForRope(const torch::Tensor& w, int64_t heads) {
  const int64_t rows = w.size(0);
  return w.reshape({heads, 2, rows / heads / 2, w.size(1)}).transpose(1, 2).reshape(w.sizes());
}

// The tensor's data as the file stores it.
StatusOr<std::string> TensorBytes(GptImpl& model, const GgufModelTensor& spec) {
  if (!spec.computed.empty()) {
    return std::string(reinterpret_cast<const char*>(spec.computed.data()),
                       spec.computed.size() * sizeof(float));
  }
  torch::Tensor t = StudentTensor(model, spec.part, spec.layer);
  if (!t.defined()) return Internal("GGUF: the model has no tensor for " + spec.info.name);
  t = t.to(torch::kFloat);
  if (spec.transpose) t = t.t();
  if (spec.rope_permute_heads > 0) t = PermuteForRope(t, spec.rope_permute_heads);
  t = t.contiguous();
  const std::vector<int64_t>& shape = spec.info.shape;  // ggml order: {cols, rows} or {size}
  int64_t elements = 1;
  for (int64_t d : shape) elements *= d;
  if (t.numel() != elements || (shape.size() == 2 && t.size(-1) != shape[0])) {
    return Internal("GGUF: " + spec.info.name + " is " + ShapeText(t.sizes().vec()) +
                    " in the model, the file expects " + ShapeText(shape) + " (ggml order)");
  }
  const int64_t cols = shape[0], rows = elements / cols;
  const int64_t row_bytes = GgmlRowBytes(spec.info.type, cols);
  std::string bytes(static_cast<size_t>(row_bytes * rows), '\0');
  const float* src = t.data_ptr<float>();
  auto* dst = reinterpret_cast<uint8_t*>(bytes.data());
  for (int64_t r = 0; r < rows; ++r)
    QuantizeRow(spec.info.type, src + r * cols, cols, dst + r * row_bytes);
  return bytes;
}

}  // namespace

StatusOr<GgufWriter> GgufWriterOf(GptImpl& model, const JobTokenizer& tokenizer,
                                  const GgufWeightTypes& types, const std::string& name) {
  KDNAS_ASSIGN_OR_RETURN(GgufMetadata tokenizer_metadata, GgufTokenizerMetadata(tokenizer));
  KDNAS_ASSIGN_OR_RETURN(GgufModelLayout layout,
                         GgufModelLayoutOf(model.config().architecture, tokenizer.vocab_size(),
                                           types, name, tokenizer_metadata));
  GgufWriter writer;
  for (GgufKeyValue& kv : layout.metadata)
    KDNAS_RETURN_IF_ERROR(writer.AddMetadata(std::move(kv.key), std::move(kv.value)));
  GptImpl* model_ptr = &model;
  for (const GgufModelTensor& t : layout.tensors) {
    KDNAS_RETURN_IF_ERROR(writer.AddTensor(t.info.name, t.info.shape, t.info.type,
                                           [model_ptr, t] { return TensorBytes(*model_ptr, t); }));
  }
  return writer;
}

Status RoundToGguf(GptImpl& model, const GgufWeightTypes& types) {
  torch::NoGradGuard no_grad;
  KDNAS_ASSIGN_OR_RETURN(
      std::vector<GgufModelTensor> tensors,
      GgufModelTensors(model.config().architecture, model.config().vocab_size, types));
  for (const GgufModelTensor& spec : tensors) {
    if (spec.info.type == GgmlType::kF32) continue;
    torch::Tensor t = StudentTensor(model, spec.part, spec.layer).to(torch::kFloat);
    // Rows as the file stores them (a permutation of rows changes none).
    torch::Tensor rows = (spec.transpose ? t.t() : t).contiguous();
    const int64_t cols = rows.size(-1);
    float* data = rows.data_ptr<float>();
    for (int64_t r = 0; r < rows.numel() / cols; ++r)
      FakeQuantizeRow(spec.info.type, data + r * cols, cols, data + r * cols);
    KDNAS_RETURN_IF_ERROR(
        SetStudentTensor(model, spec.part, spec.layer, spec.transpose ? rows.t() : rows));
  }
  return Status::Ok();
}

GgufWeightTypes StudentGgufTypes(const Compression& compression) {
  return compression.gguf.set() ? GgufWeightTypesOf(compression.gguf)
                                : GgufWeightTypes::All(GgmlType::kF16);
}

StatusOr<GgufExportResult> WriteGgufFile(GptImpl& model, const JobTokenizer& tokenizer,
                                         const GgufWeightTypes& types, const std::string& name,
                                         const std::string& path) {
  KDNAS_ASSIGN_OR_RETURN(GgufWriter writer, GgufWriterOf(model, tokenizer, types, name));
  KDNAS_ASSIGN_OR_RETURN(GgufLayout layout, writer.Layout());
  KDNAS_RETURN_IF_ERROR(writer.WriteFile(path));
  GgufExportResult result;
  result.file_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  result.tensors = layout.tensors;
  if (result.file_bytes != layout.file_size_bytes) {
    return Internal("GGUF: wrote " + std::to_string(result.file_bytes) + " bytes, laid out " +
                    std::to_string(layout.file_size_bytes));
  }
  return result;
}

}  // namespace kdnas
