#include "formats/gguf_size.h"

#include "formats/gguf_architecture.h"
#include "formats/gguf_tokenizer.h"
#include "formats/gguf_writer.h"

namespace kdnas {
namespace {

// Magic, version, tensor count and key-value count.
constexpr int64_t kGgufFixedHeaderBytes = 4 + 4 + 8 + 8;

}  // namespace

StatusOr<int64_t> GgufMetadataBytes(const GgufMetadata& metadata) {
  KDNAS_ASSIGN_OR_RETURN(GgufLayout layout, LayoutGguf(metadata, {}));
  return layout.header_bytes - kGgufFixedHeaderBytes;
}

StatusOr<int64_t> GgufTokenizerMetadataBytes(const JobTokenizer& tokenizer) {
  KDNAS_ASSIGN_OR_RETURN(GgufMetadata metadata, GgufTokenizerMetadata(tokenizer));
  return GgufMetadataBytes(metadata);
}

StatusOr<int64_t> GgufStudentFileBytes(const Candidate& candidate, int64_t vocab_size,
                                       int64_t tokenizer_metadata_bytes) {
  if (!candidate.compression.gguf.set())
    return InvalidArgument("GGUF size: the candidate has no weight_format");
  KDNAS_ASSIGN_OR_RETURN(
      GgufModelLayout model,
      GgufModelLayoutOf(candidate.architecture, vocab_size,
                        GgufWeightTypesOf(candidate.compression.gguf), kGgufStudentName, {}));
  std::vector<GgufTensorInfo> infos;
  for (const GgufModelTensor& t : model.tensors) infos.push_back(t.info);
  KDNAS_ASSIGN_OR_RETURN(GgufLayout layout, LayoutGguf(model.metadata, std::move(infos)));
  // The tokenizer's keys come after the architecture's: they move the end of
  // the header, and the data section starts at the next alignment.
  const int64_t header = layout.header_bytes + tokenizer_metadata_bytes;
  return GgufAlignUp(header, layout.alignment) + (layout.file_size_bytes - layout.data_offset);
}

std::function<int64_t(const Candidate&)> GgufStudentSizer(int64_t vocab_size,
                                                          int64_t tokenizer_metadata_bytes) {
  return [vocab_size, tokenizer_metadata_bytes](const Candidate& c) -> int64_t {
    auto bytes = GgufStudentFileBytes(c, vocab_size, tokenizer_metadata_bytes);
    return bytes.ok() ? *bytes : -1;
  };
}

}  // namespace kdnas
