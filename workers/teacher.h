// A teacher: any TorchScript module mapping int64 token ids [B, T] to logits
// [B, T, V], with its tokenizer. The tokenizer is read from the archive's
// extra file kdnas/tokenizer.bin (written by `kdnas-worker train-teacher`, or
// by Python with torch.jit.save(m, f, _extra_files={...})) or else from a
// separate tokenizer file. Shapes and the vocabulary are checked on load.
#pragma once

#include <torch/script.h>

#include <optional>
#include <string>

#include "search/candidate.h"
#include "search/status.h"
#include "search/tokenizer.h"

namespace kdnas {

class Teacher {
 public:
  // path: the TorchScript file. tokenizer_path: optional; used when the
  // archive has no kdnas/tokenizer.bin. Errors: NOT_FOUND (missing file),
  // DATA_LOSS (not a TorchScript archive, corrupt tokenizer),
  // INVALID_ARGUMENT (no tokenizer, wrong output shape or vocabulary).
  static StatusOr<Teacher> Load(const std::string& path, const std::string& tokenizer_path = "");

  const Tokenizer& tokenizer() const { return tokenizer_; }
  int vocab_size() const { return tokenizer_.vocab_size(); }
  // The kdnas architecture when the archive has kdnas/architecture.json.
  const std::optional<Architecture>& architecture() const { return architecture_; }
  // 0 when unknown (not a kdnas teacher).
  int context_length() const { return architecture_ ? architecture_->context_length : 0; }
  const std::string& path() const { return path_; }
  torch::jit::Module& module() { return module_; }

  // Runs the teacher once on [1, context] and checks the logits' shape
  // [1, context, vocab_size]; INVALID_ARGUMENT with the reason otherwise.
  Status CheckContext(int context);
  // Logits [B, T, V] (float, no grad). Errors from TorchScript become INTERNAL.
  StatusOr<torch::Tensor> Logits(const torch::Tensor& idx);

 private:
  Teacher(torch::jit::Module module, Tokenizer tokenizer)
      : module_(std::move(module)), tokenizer_(std::move(tokenizer)) {}
  torch::jit::Module module_;
  Tokenizer tokenizer_;
  std::optional<Architecture> architecture_;
  std::string path_;
};

}  // namespace kdnas
