// What runs a leased trial: the LibTorch engine (engine_executor.h) or the
// synthetic one (synthetic_executor.h). The lease client (lease_client.h)
// hands it the lease and a context for progress, stop requests and files.
#pragma once

#include <atomic>
#include <string>

#include "kdnas/v1/worker_service.pb.h"
#include "search/status.h"

namespace kdnas {

// Whether a trial that failed with `status` is worth another attempt (up to
// the job's max_attempts): transient conditions and LibTorch errors
// (INTERNAL: an allocation failure on a busy host) are; a candidate, teacher
// or corpus that cannot work (INVALID_ARGUMENT, FAILED_PRECONDITION,
// NOT_FOUND, DATA_LOSS, ...) is not: such a trial FAILS at once. This is the
// one rule for trials; the lease loop's retries of RPCs are another
// (lease_client.h).
inline bool RetryableTrialFailure(const Status& status) {
  switch (status.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
    case StatusCode::kAborted:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kInternal:
    case StatusCode::kUnknown:
      return true;
    default:
      return false;
  }
}

struct ExecutionResult {
  enum class Kind { kSucceeded, kFailed, kStopped };
  // A failed trial; whether it is retried follows RetryableTrialFailure.
  static ExecutionResult Failure(const Status& status, double worker_seconds) {
    ExecutionResult r;
    r.kind = Kind::kFailed;
    r.error = status.message();
    r.retryable = RetryableTrialFailure(status);
    r.worker_seconds = worker_seconds;
    return r;
  }
  Kind kind = Kind::kFailed;
  v1::TrialMetrics metrics;           // kSucceeded
  std::string packed_path;            // kSucceeded, optional: uploaded as the artifact
  std::string teacher_shard_path;     // kSucceeded of a teacher-shard lease: the shard
  std::string torchscript_path;       // kSucceeded, optional
  std::string hf_path;                // kSucceeded, optional: the Hugging Face checkpoint tar
  std::string hf_unavailable;         // kSucceeded: why there is no hf_path (imported teachers)
  std::string gguf_path;              // kSucceeded, optional: the GGUF file
  std::string gguf_unavailable;       // kSucceeded: why there is no gguf_path
  std::string gguf_tensor_types;      // kSucceeded: Trial.gguf_tensor_types
  std::string latency_measured_with;  // kSucceeded: Trial.latency_measured_with
  std::string error;                  // kFailed
  bool retryable = false;             // kFailed: a transient error, try again
  v1::TrialProgress progress;         // kStopped: where it stopped
  double worker_seconds = 0;          // kFailed / kStopped (kSucceeded: in metrics)
};

class TrialContext {
 public:
  virtual ~TrialContext() = default;
  // Progress for the next heartbeat; returns true when the trial must stop
  // (the controller said STOP, or the worker is shutting down).
  virtual bool Progress(const v1::TrialProgress& progress) = 0;
  // Set when the trial must stop; executors may poll it.
  virtual const std::atomic<bool>& stop_flag() const = 0;
  // The local path of a job file, downloading a blob into the cache once.
  virtual StatusOr<std::string> Fetch(const v1::FileRef& ref) = 0;
  // A directory of this trial's own for outputs.
  virtual std::string scratch_dir() const = 0;
};

// Runs a leased trial, or a shard of a teacher pass (lease.teacher_shard()
// set: the result's teacher_shard_path names the shard written).
class TrialExecutor {
 public:
  virtual ~TrialExecutor() = default;
  virtual ExecutionResult Run(const v1::Lease& lease, TrialContext& context) = 0;
};

}  // namespace kdnas
