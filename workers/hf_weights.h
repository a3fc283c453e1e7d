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

}  // namespace kdnas
