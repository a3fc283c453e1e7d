// A Hugging Face checkpoint in safetensors, one file or sharded, read without
// LibTorch. A sharded checkpoint is a directory holding
// model.safetensors.index.json ({"metadata": {"total_size": ...},
// "weight_map": {tensor: shard file name}}) and the shards it names
// (model-00001-of-00002.safetensors, ...). Opening one reads every header and
// no tensor, and gives one table from tensor name to shard and tensor.
//
// Errors: NOT_FOUND for a missing file (a shard the index names included),
// DATA_LOSS for any defect of the index or a shard, or any disagreement
// between them; messages name the file and the tensor. See
// docs/hf-checkpoints.md for the full list of checks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/safetensors.h"
#include "search/status.h"

namespace kdnas {

inline constexpr std::string_view kSafetensorsFileName = "model.safetensors";
inline constexpr std::string_view kSafetensorsIndexFileName = "model.safetensors.index.json";

struct SafetensorsIndex {
  // "metadata"."total_size" if present (transformers writes the sum of the
  // tensors' bytes; it is exposed, not checked).
  std::optional<int64_t> total_size_bytes;
  // The other entries of "metadata": strings as they are, other values as
  // JSON text.
  std::map<std::string, std::string> metadata;
  // Tensor name -> shard file name (a plain file name: no '/', '\\' or "..").
  std::map<std::string, std::string> weight_map;
};

// Parses the text of a model.safetensors.index.json. DATA_LOSS if it is not a
// JSON object with a "weight_map" object of strings, if a key repeats, if
// "metadata" is not an object or its total_size not a non-negative integer,
// or if a shard file name is empty or has '/', '\\', "..", or a NUL.
StatusOr<SafetensorsIndex> ParseSafetensorsIndex(std::string_view json);

class SafetensorsCheckpoint {
 public:
  struct Entry {
    size_t shard = 0;                           // position in shards()
    const SafetensorsTensor* tensor = nullptr;  // owned by shards()[shard]
  };

  // `path` is a .safetensors file, a model.safetensors.index.json, or a
  // directory holding model.safetensors (preferred, as transformers does) or
  // model.safetensors.index.json and its shards.
  static StatusOr<SafetensorsCheckpoint> Open(const std::string& path);
  // From headers already read some other way (SafetensorsFile::Parse, e.g. of
  // the members of a tar): `shards` by file name, checked against `index` as
  // Open checks them; `where` prefixes the messages. Reading tensors needs
  // files opened with a path.
  static StatusOr<SafetensorsCheckpoint> FromShards(const std::string& where,
                                                    SafetensorsIndex index,
                                                    std::map<std::string, SafetensorsFile> shards);
  static StatusOr<SafetensorsCheckpoint> FromSingleFile(SafetensorsFile file);

  // The one file, or the shards sorted by file name.
  const std::vector<SafetensorsFile>& shards() const { return shards_; }
  // Every tensor of the checkpoint, by name.
  const std::map<std::string, Entry, std::less<>>& tensors() const { return tensors_; }
  // The index, when the checkpoint is sharded.
  const std::optional<SafetensorsIndex>& index() const { return index_; }

  const Entry* Find(std::string_view name) const;
  // As SafetensorsFile's, from the tensor's shard.
  StatusOr<std::string> ReadTensorBytes(std::string_view name) const;
  StatusOr<std::vector<float>> ReadFloat32(std::string_view name) const;

  SafetensorsCheckpoint(SafetensorsCheckpoint&&) = default;
  SafetensorsCheckpoint& operator=(SafetensorsCheckpoint&&) = default;

 private:
  SafetensorsCheckpoint() = default;
  static StatusOr<SafetensorsCheckpoint> FromFile(const std::string& path);
  static StatusOr<SafetensorsCheckpoint> FromIndex(const std::string& index_path);
  void BuildTable();

  std::vector<SafetensorsFile> shards_;
  std::map<std::string, Entry, std::less<>> tensors_;
  std::optional<SafetensorsIndex> index_;
};

}  // namespace kdnas
