#include "workers/hf_weights.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "formats/hf_checkpoint.h"
#include "formats/safetensors.h"
#include "formats/safetensors_index.h"
#include "formats/tar_archive.h"

namespace kdnas {
namespace {

torch::ScalarType TorchType(SafetensorsDtype dtype) {
  switch (dtype) {
    case SafetensorsDtype::kF16:
      return torch::kHalf;
    case SafetensorsDtype::kBF16:
      return torch::kBFloat16;
    default:
      return torch::kFloat;  // CheckHfTensors admits only F32, F16 and BF16
  }
}

}  // namespace

StatusOr<HfModel> LoadHfModel(const std::string& directory) {
  std::ifstream in(directory + "/config.json", std::ios::binary);
  if (!in) return NotFound(directory + "/config.json: no such file");
  std::ostringstream text;
  text << in.rdbuf();
  HfCheckpointHeaders headers;
  KDNAS_ASSIGN_OR_RETURN(headers.config, ParseHfConfig(text.str()));
  KDNAS_ASSIGN_OR_RETURN(SafetensorsCheckpoint weights, SafetensorsCheckpoint::Open(directory));
  KDNAS_RETURN_IF_ERROR(CheckHfTensors(weights, &headers));
  auto load = [&](const HfTensorSpec& spec) -> StatusOr<torch::Tensor> {
    const auto* entry = weights.Find(spec.name);
    if (entry == nullptr) return torch::Tensor();
    KDNAS_ASSIGN_OR_RETURN(std::string bytes, weights.ReadTensorBytes(spec.name));
    // Little-endian on disk as in memory (x86-64, aarch64).
    return torch::from_blob(bytes.data(), entry->tensor->shape, TorchType(entry->tensor->dtype))
        .to(torch::kFloat, /*non_blocking=*/false, /*copy=*/true);
  };
  return HfModel::Create(headers.config, headers.name_prefix, load);
}

StatusOr<std::string> HfCheckpointDirectory(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return path;
  if (!fs::is_regular_file(path, ec)) return NotFound(path + ": no such checkpoint");
  const std::string directory = path + ".unpacked";
  if (fs::is_directory(directory, ec)) return directory;
  const std::string partial = directory + ".partial-" + std::to_string(getpid());
  fs::remove_all(partial, ec);
  Status unpacked = ExtractTar(path, partial);
  if (!unpacked.ok()) {
    fs::remove_all(partial, ec);
    return unpacked;
  }
  fs::rename(partial, directory, ec);
  if (ec) {
    fs::remove_all(partial, ec);
    return Internal(directory + ": " + ec.message());
  }
  return directory;
}

}  // namespace kdnas
