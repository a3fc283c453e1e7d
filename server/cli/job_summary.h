// Human-readable one-screen summaries of jobs and trials, shared by the
// status, jobs, watch and best commands.
#pragma once

#include <string>

#include "kdnas/v1/job.pb.h"
#include "kdnas/v1/trial.pb.h"

namespace kdnas::cli {

// "RUNNING", "SUCCEEDED", ... without the enum prefix.
std::string ShortName(kdnas::v1::JobState state);
std::string ShortName(kdnas::v1::TrialState state);

// The state a user reads: ShortName, or "INFEASIBLE" for a succeeded trial
// over a measured limit (Trial.infeasible_reason).
std::string TrialStateLabel(const kdnas::v1::Trial& trial);
// Why the trial is where it is: its infeasible_reason or state_message.
std::string TrialNote(const kdnas::v1::Trial& trial);

// "teacher pass: 3 of 8 shards done (2 reused), 41.0 worker-seconds; trials
// wait for it" (JobProgress.teacher_shards*).
std::string TeacherPassLine(const kdnas::v1::JobProgress& progress);
// Trials done of budget, running, worker-seconds, the teacher pass (when the
// job has one), hypervolume; several lines.
std::string SummarizeJob(const kdnas::v1::Job& job);
// What the controller read at submission (Job.teacher_info, Job.data_info):
// the teacher (a Hugging Face checkpoint's family, architecture, layers,
// width, heads, dtype and parameters, or the kdnas teacher file), the
// tokenizer every student carries and its bytes, and the corpus. Several
// lines; empty for a job without them.
std::string SummarizeInputs(const kdnas::v1::Job& job);
// "4L d128 h4 ff512 ctx64 w4/g32 e8 2:4 r0.5 inherit".
std::string SummarizeCandidate(const kdnas::v1::Candidate& candidate);

}  // namespace kdnas::cli
