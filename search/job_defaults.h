// The defaults of a job's budget and data, in one place: the controller
// applies them to a submitted spec (ApplyJobDefaults in proto/api_convert.h)
// and the worker's standalone commands start from them. job.proto documents
// the same values.
#pragma once

#include <cstdint>

namespace kdnas::defaults {

inline constexpr int64_t kMaxTrials = 32;
inline constexpr int64_t kTrainSteps = 300;         // optimizer steps per trial
inline constexpr int32_t kBatchSize = 12;           // sequences per step
inline constexpr int32_t kMaxAttempts = 3;          // per trial
inline constexpr int64_t kEvalTokens = 16384;       // held-out tokens for validation loss
inline constexpr double kLearningRate = 1e-3;       // peak AdamW learning rate
inline constexpr double kValidationFraction = 0.1;  // of the corpus, by tokens
inline constexpr int32_t kReductionFactor = 3;      // multi-fidelity
inline constexpr int32_t kKeepRanks = 1;            // multi-fidelity
inline constexpr int32_t kMinTrialsPerRung = 4;     // multi-fidelity
inline constexpr int32_t kOversample = 4;           // predictors
inline constexpr int64_t kTeacherShards = 8;        // shards of a teacher pass
inline constexpr int32_t kTopK = 32;                // teacher log-probs kept per token
inline constexpr int64_t kFullVocabLimit = 1024;    // vocabularies kept whole

}  // namespace kdnas::defaults
