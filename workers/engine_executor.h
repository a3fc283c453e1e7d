// Runs a leased trial with the LibTorch engine (RunCandidate), or computes a
// shard of a job's teacher pass (WriteTeacherShard). The teacher, corpus,
// held-out set and teacher-output cache of a job are loaded once and shared
// by all of that job's leases on this worker; a trial reads its teacher
// outputs from the pass's shards, downloaded once into the worker's cache.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "workers/run_candidate.h"
#include "workers/trial_executor.h"

namespace kdnas {

class EngineExecutor : public TrialExecutor {
 public:
  struct Options {
    int threads = 0;  // LibTorch intra-op threads; 0 = unchanged
    bool measure_latency = true;
    bool write_torchscript = true;
    size_t max_cached_jobs = 2;  // jobs whose resources stay loaded
  };
  explicit EngineExecutor(Options options) : options_(options) {}
  ExecutionResult Run(const v1::Lease& lease, TrialContext& context) override;

 private:
  StatusOr<std::shared_ptr<JobResources>> Resources(const v1::TrialWork& work,
                                                    TrialContext& context);
  ExecutionResult RunShard(const v1::Lease& lease, TrialContext& context);
  // The pass's shards, downloaded and opened into `run`'s teacher_shards and
  // held_out_shards.
  Status Shards(const v1::TrialWork& work, TrialContext& context, RunOptions* run);

  Options options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<JobResources>> jobs_;  // by job name + files
};

}  // namespace kdnas
