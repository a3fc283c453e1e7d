// A job's teacher pass, as the controller plans it (docs/teacher-pass.md):
// the seed of the job's training batches and the shards that cover its steps,
// each with a content key, so a later job whose shard would hold the same
// bytes reuses it. Pure functions of the job; the job manager runs the plan.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kdnas/v1/search_service.pb.h"

namespace kdnas {

struct TeacherPassPlan {
  struct Shard {
    int64_t first_step = 0;
    int64_t steps = 0;
    // > 0: the teacher's outputs on the held-out windows of this context
    // length (first_step 0, steps 1), for the trials' validation metrics.
    int held_out_context = 0;
    std::string key;  // sha256 hex of everything the shard's bytes depend on
  };
  // Batches of every trial (TrialWork.data_seed): a function of the teacher
  // and data, so jobs that share them share batches, and shards.
  uint64_t data_seed = 0;
  // The training steps' shards, then a held-out shard per context length
  // the space proposes (none when it proposes more than
  // kMaxHeldOutContexts: each worker then computes the ones its trials
  // need). Empty when the job has no shared pass
  // (TeacherPassSpec.per_worker, or no student distils).
  std::vector<Shard> shards;
};

constexpr size_t kMaxHeldOutContexts = 16;

// The plan of a job whose spec has its defaults applied (ApplyJobDefaults).
TeacherPassPlan PlanTeacherPass(const v1::Job& job);

// Whether any student of the space can have alpha > 0 (a KD term).
bool AnyStudentDistils(const v1::JobSpec& spec);

}  // namespace kdnas
