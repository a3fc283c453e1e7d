// Loads an imported teacher from a Hugging Face checkpoint directory
// (config.json and model.safetensors, or shards with
// model.safetensors.index.json) into an HfModel.
#pragma once

#include <string>

#include "search/status.h"
#include "workers/hf_model.h"

namespace kdnas {

// INVALID_ARGUMENT naming config.json's key or the tensor when the
// checkpoint is not one kdnas runs exactly (formats/hf_config.h), DATA_LOSS
// for a corrupt safetensors file, NOT_FOUND for a missing file.
StatusOr<HfModel> LoadHfModel(const std::string& directory);

// The checkpoint directory of `path`: `path` itself when it is a directory;
// for an uncompressed tar of one (the blob `kdnas submit` uploads), the
// directory path + ".unpacked", unpacked on first use (into a temporary
// directory that is then renamed, so a crash leaves no half checkpoint).
// Not thread-safe for the same path.
StatusOr<std::string> HfCheckpointDirectory(const std::string& path);

}  // namespace kdnas
