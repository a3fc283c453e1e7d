#include "server/dataset_inspector.h"

#include <fstream>
#include <sstream>

#include "search/tokenizer.h"

namespace kdnas {

StatusOr<v1::DataInfo> InspectDataset(const v1::DataSpec& data, const BlobStore& blobs) {
  std::string path, field;
  if (data.text().source_case() == v1::FileRef::kBlob) {
    field = "spec.data.text.blob";
    auto p = blobs.PathOf(data.text().blob());
    if (!p.ok()) {
      return InvalidArgument(field + ": " + p.status().message() + " (upload it with kdnas upload)");
    }
    path = *p;
  } else {
    field = "spec.data.text.path";
    path = data.text().path();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgument(field + ": the controller cannot read " + path +
                           " (upload the file with kdnas upload, or submit without --no-upload)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string corpus = text.str();
  auto kind = data.tokenizer() == v1::TOKENIZER_KIND_BYTE ? TokenizerKind::kByte : TokenizerKind::kChar;
  auto tokenizer = Tokenizer::Build(corpus, kind, field);
  if (!tokenizer.ok()) return InvalidArgument(tokenizer.status().message());
  v1::DataInfo info;
  info.set_vocab_size(tokenizer->vocab_size());
  info.set_tokenizer_bytes(tokenizer->serialized_bytes());
  info.set_text_bytes(static_cast<int64_t>(corpus.size()));
  return info;
}

}  // namespace kdnas
