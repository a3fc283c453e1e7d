// `kdnas-worker train-teacher`: trains a GPT teacher on a corpus (plain
// cross-entropy, same optimizer and schedule as distillation) and saves it as
// TorchScript with its tokenizer and architecture embedded (see
// workers/torchscript_export.h).
#pragma once

#include <string>

#include "search/candidate.h"
#include "search/status.h"
#include "search/tokenizer.h"
#include "workers/distill.h"

namespace kdnas {

struct TeacherTrainingOptions {
  // Defaults: 4 layers, 4 heads, d_model 128, d_ff 512, context 64.
  Architecture architecture;
  std::string data_path;
  TokenizerKind tokenizer_kind = TokenizerKind::kChar;
  double validation_fraction = 0.1;
  std::string out_path;  // the TorchScript file
  int64_t steps = 2000;
  int batch_size = 12;
  double learning_rate = 1e-3;
  int64_t eval_tokens = 16384;
  uint64_t seed = 1;
  int threads = 0;  // 0 = leave LibTorch's setting
};

struct TeacherTrainingReport {
  double val_loss = 0;
  double train_loss = 0;
  double train_seconds = 0;
  int64_t params = 0;
  int vocab_size = 0;
};

StatusOr<TeacherTrainingReport> TrainTeacher(const TeacherTrainingOptions& options,
                                             const ProgressCallback& progress);

}  // namespace kdnas
