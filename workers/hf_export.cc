#include "workers/hf_export.h"

#include <filesystem>
#include <fstream>

#include "formats/hf_config_json.h"
#include "formats/hf_tensor_map.h"
#include "formats/safetensors_writer.h"
#include "workers/student_as_hf.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

const char* TorchDtypeName(SafetensorsDtype dtype) {
  switch (dtype) {
    case SafetensorsDtype::kF16:
      return "float16";
    case SafetensorsDtype::kBF16:
      return "bfloat16";
    default:
      return "float32";
  }
}

Status WriteBytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.good()) return Internal("writing '" + path.string() + "' failed");
  return Status::Ok();
}

}  // namespace

StatusOr<std::map<std::string, std::string>> HfCheckpointFiles(GptImpl& student,
                                                               const JobTokenizer& tokenizer,
                                                               SafetensorsDtype dtype) {
  if (tokenizer.files().empty()) {
    return FailedPrecondition(std::string("the student's tokenizer is kdnas's own (") +
                              KindName(tokenizer.kind()) +
                              "), which has no Hugging Face form: only students of an imported "
                              "teacher are written in its layout");
  }
  if (dtype != SafetensorsDtype::kF32 && dtype != SafetensorsDtype::kF16 &&
      dtype != SafetensorsDtype::kBF16) {
    return InvalidArgument("dtype: F32, F16 or BF16");
  }
  KDNAS_ASSIGN_OR_RETURN(HfModelConfig config,
                         HfConfigOf(student.config().architecture, tokenizer.vocab_size()));
  if (auto bos = tokenizer.bos_to_add()) config.bos_token_id = *bos;
  if (auto eos = tokenizer.eos_id()) config.eos_token_ids = {*eos};
  const std::string prefix = config.family == HfFamily::kGpt2 ? "transformer." : "model.";
  std::vector<SafetensorsEntry> tensors;
  for (const HfTensorSpec& spec : HfTensorTable(config, prefix)) {
    if (spec.optional) continue;  // a tied model stores no lm_head.weight
    torch::Tensor t = StudentTensor(student, spec.part, spec.layer);
    if (!t.defined() || t.sizes() != c10::IntArrayRef(spec.shape)) {
      return Internal(spec.name + ": the student has no tensor of shape " + ShapeText(spec.shape));
    }
    t = t.to(torch::kFloat).contiguous();
    std::vector<float> values(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    tensors.push_back({spec.name, dtype, spec.shape, EncodeFloats(values, dtype)});
  }
  std::map<std::string, std::string> files = tokenizer.files();
  KDNAS_ASSIGN_OR_RETURN(files["model.safetensors"],
                         SerializeSafetensors(std::move(tensors), {{"format", "pt"}}));
  files["config.json"] = HfConfigJson(config, TorchDtypeName(dtype));
  return files;
}

Status WriteHfCheckpoint(GptImpl& student, const JobTokenizer& tokenizer, const std::string& dir,
                         SafetensorsDtype dtype) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return FailedPrecondition("'" + dir + "' exists: give a new directory");
  KDNAS_ASSIGN_OR_RETURN(auto files, HfCheckpointFiles(student, tokenizer, dtype));
  // Written beside `dir` and renamed into place: a directory that exists is complete.
  const fs::path tmp = dir + ".tmp";
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Internal("creating '" + tmp.string() + "': " + ec.message());
  Status written = Status::Ok();
  for (const auto& [name, bytes] : files) {
    if (written.ok()) written = WriteBytes(tmp / name, bytes);
  }
  if (written.ok()) {
    fs::rename(tmp, dir, ec);
    if (ec) written = Internal("renaming '" + tmp.string() + "' to '" + dir + "': " + ec.message());
  }
  if (!written.ok()) fs::remove_all(tmp, ec);
  return written;
}

}  // namespace kdnas
