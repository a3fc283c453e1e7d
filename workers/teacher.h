// A teacher with its tokenizer, the job's: either any TorchScript module
// mapping int64 token ids [B, T] to logits [B, T, V], whose tokenizer is
// read from the archive's extra file kdnas/tokenizer.bin (written by
// `kdnas-worker train-teacher`, or by Python with torch.jit.save(m, f,
// _extra_files={...})) or else from a separate tokenizer file; or an
// imported Hugging Face checkpoint (workers/hf_model.h) with the tokenizer
// saved beside it. Shapes and the vocabulary are checked on load.
#pragma once

#include <torch/script.h>

#include <memory>
#include <optional>
#include <string>

#include "formats/job_tokenizer.h"
#include "search/candidate.h"
#include "search/status.h"
#include "workers/hf_model.h"

namespace kdnas {

class Teacher {
 public:
  // path: the TorchScript file. tokenizer_path: optional; used when the
  // archive has no kdnas/tokenizer.bin. Errors: NOT_FOUND (missing file),
  // DATA_LOSS (not a TorchScript archive, corrupt tokenizer),
  // INVALID_ARGUMENT (no tokenizer, wrong output shape or vocabulary).
  static StatusOr<Teacher> Load(const std::string& path, const std::string& tokenizer_path = "");
  // directory: a Hugging Face checkpoint (config.json, safetensors weights,
  // the tokenizer's files). Errors as ReadHfCheckpointHeaders's and
  // LoadHfModel's, naming the file, key or tensor.
  static StatusOr<Teacher> LoadHf(const std::string& directory);

  const JobTokenizer& tokenizer() const { return tokenizer_; }
  int vocab_size() const { return tokenizer_.vocab_size(); }
  // The kdnas architecture when the archive has kdnas/architecture.json.
  const std::optional<Architecture>& architecture() const { return architecture_; }
  // The longest window the teacher runs on; 0 when unknown (a TorchScript
  // module that is not a kdnas GPT).
  int context_length() const;
  const std::string& path() const { return path_; }
  // The TorchScript module; null for an imported teacher.
  torch::jit::Module* module() { return hf_ ? nullptr : &module_; }
  // The imported model; null for a TorchScript teacher.
  const HfModel* hf_model() const { return hf_.get(); }
  // The imported checkpoint's stored dtype ("F32", "F16", "BF16" or
  // "mixed"); empty for a TorchScript teacher.
  const std::string& hf_weight_dtype() const { return hf_weight_dtype_; }

  // Runs the teacher once on [1, context] and checks the logits' shape
  // [1, context, vocab_size]; INVALID_ARGUMENT with the reason otherwise.
  Status CheckContext(int context);
  // Logits [B, T, V] (float, no grad). Errors from TorchScript become INTERNAL.
  StatusOr<torch::Tensor> Logits(const torch::Tensor& idx);

 private:
  Teacher(torch::jit::Module module, JobTokenizer tokenizer)
      : module_(std::move(module)), tokenizer_(std::move(tokenizer)) {}
  torch::jit::Module module_;
  std::shared_ptr<const HfModel> hf_;
  JobTokenizer tokenizer_;
  std::optional<Architecture> architecture_;
  std::string path_;
  std::string hf_weight_dtype_;
};

}  // namespace kdnas
