// submit, jobs, status, cancel, trials.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "kdnas/v1/search_service.grpc.pb.h"
#include "server/cli/blob_upload.h"
#include "server/cli/cli_context.h"
#include "server/cli/commands.h"
#include "server/cli/format.h"
#include "server/cli/job_summary.h"
#include "server/cli/yaml_to_proto.h"

namespace kdnas::cli {
namespace {

namespace fs = std::filesystem;
using kdnas::v1::SearchService;

std::string RandomRequestId() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  char buf[40];
  std::snprintf(buf, sizeof(buf), "cli-%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}

// Relative paths in a job file are relative to the file, like in most
// configuration formats; local files are uploaded as blobs unless asked not
// to, so workers on other machines need no shared filesystem. A directory
// (teacher.hf only: a Hugging Face checkpoint) is uploaded as one tar blob.
Status ResolveFile(kdnas::v1::FileRef* ref, const fs::path& base_dir, bool upload,
                   kdnas::v1::BlobKind kind, SearchService::Stub* stub, const CliContext& ctx,
                   const std::string& field, bool directory_ok = false) {
  if (ref->source_case() != kdnas::v1::FileRef::kPath) return Status::Ok();
  fs::path path = ref->path();
  if (path.is_relative()) path = fs::absolute(base_dir / path).lexically_normal();
  if (!upload) {
    ref->set_path(path.string());
    return Status::Ok();
  }
  if (!fs::exists(path))
    return InvalidArgument(field + ": file " + path.string() + " does not exist");
  if (!directory_ok && fs::is_directory(path))
    return InvalidArgument(field + ": " + path.string() + " is a directory, not a file");
  KDNAS_ASSIGN_OR_RETURN(kdnas::v1::Blob blob, UploadBlobPath(stub, ctx, path.string(), kind));
  ref->set_blob(blob.name());
  return Status::Ok();
}

}  // namespace

std::string JobName(const std::string& arg) {
  return arg.rfind("jobs/", 0) == 0 ? arg : "jobs/" + arg;
}

int RunSubmit(const Args& args) {
  CliContext ctx;
  std::string request_id;
  bool upload = true;
  FlagSet flags(
      "kdnas submit JOB_FILE [flags]\n\n"
      "Submits a search job described by a YAML or JSON JobSpec (see examples/).\n"
      "Local files it names (data.text.path, teacher.model.path, teacher.hf.path) are uploaded\n"
      "as blobs, so workers need no shared filesystem; relative paths are relative to JOB_FILE.\n"
      "A teacher.hf.path that is a Hugging Face checkpoint directory is packed into one\n"
      "uncompressed tar (in $TMPDIR, removed after) and uploaded as one blob.");
  ctx.AddFlags(&flags);
  flags.String(
      "request-id", &request_id,
      "Idempotency key: submitting the same id twice returns the first job (default: random).");
  flags.Bool("upload", &upload,
             "Upload local data and teacher files (and checkpoint directories, as tars) as\n"
             "blobs; --no-upload keeps the paths, which the controller and every worker must\n"
             "then be able to read.");
  if (int rc = ParseCommandFlags(&flags, "submit", args, 1, 1); rc >= 0) return rc;
  const std::string file = flags.positional()[0];

  kdnas::v1::SubmitJobRequest request;
  if (Status s = LoadYamlMessageFile(file, request.mutable_spec()); !s.ok())
    return Fail("submit", s);
  request.set_request_id(request_id.empty() ? RandomRequestId() : request_id);

  auto channel = ctx.Connect();
  if (!channel.ok()) return Fail("submit", channel.status());
  auto stub = SearchService::NewStub(*channel);
  fs::path base_dir = fs::absolute(fs::path(file)).parent_path();
  auto* spec = request.mutable_spec();
  if (spec->has_data()) {
    Status s = ResolveFile(spec->mutable_data()->mutable_text(), base_dir, upload,
                           kdnas::v1::BLOB_KIND_DATASET, stub.get(), ctx, "data.text.path");
    if (!s.ok()) return Fail("submit", s);
  }
  if (spec->teacher().has_model()) {
    Status s = ResolveFile(spec->mutable_teacher()->mutable_model(), base_dir, upload,
                           kdnas::v1::BLOB_KIND_TEACHER, stub.get(), ctx, "teacher.model.path");
    if (!s.ok()) return Fail("submit", s);
  }
  if (spec->teacher().has_hf()) {
    Status s = ResolveFile(spec->mutable_teacher()->mutable_hf(), base_dir, upload,
                           kdnas::v1::BLOB_KIND_TEACHER, stub.get(), ctx, "teacher.hf.path",
                           /*directory_ok=*/true);
    if (!s.ok()) return Fail("submit", s);
  }
  kdnas::v1::Job job;
  auto call = ctx.NewCall();
  grpc::Status status = stub->SubmitJob(call.get(), request, &job);
  if (!status.ok()) return Fail("submit", ctx.CallError(status));
  if (ctx.json) {
    ctx.PrintJson(job);
  } else {
    std::printf("submitted %s\n", job.name().c_str());
  }
  return 0;
}

int RunJobs(const Args& args) {
  CliContext ctx;
  int limit = 50;
  FlagSet flags("kdnas jobs [flags]\n\nLists jobs, newest first.");
  ctx.AddFlags(&flags);
  flags.Int("limit", &limit, "Jobs to list at most.");
  if (int rc = ParseCommandFlags(&flags, "jobs", args, 0, 0); rc >= 0) return rc;
  auto channel = ctx.Connect();
  if (!channel.ok()) return Fail("jobs", channel.status());
  auto stub = SearchService::NewStub(*channel);
  kdnas::v1::ListJobsResponse all;
  std::string token;
  do {
    kdnas::v1::ListJobsRequest request;
    request.set_page_size(std::min(limit - all.jobs_size(), 1000));
    request.set_page_token(token);
    kdnas::v1::ListJobsResponse page;
    auto call = ctx.NewCall();
    grpc::Status status = stub->ListJobs(call.get(), request, &page);
    if (!status.ok()) return Fail("jobs", ctx.CallError(status));
    for (auto& j : *page.mutable_jobs()) *all.add_jobs() = std::move(j);
    token = page.next_page_token();
  } while (!token.empty() && all.jobs_size() < limit);
  if (ctx.json) {
    ctx.PrintJson(all);
    return 0;
  }
  Table table({"JOB", "NAME", "STATE", "DONE", "BUDGET", "FRONTIER", "HYPERVOLUME", "WORKER-S"});
  for (const auto& job : all.jobs()) {
    const auto& p = job.progress();
    table.AddRow({job.name(), job.spec().display_name(), ShortName(job.state()),
                  std::to_string(p.trials_succeeded() + p.trials_failed() + p.trials_stopped()),
                  std::to_string(job.spec().budget().max_trials()),
                  std::to_string(p.frontier_size()), FormatFixed(p.hypervolume(), 6),
                  FormatFixed(p.worker_seconds_used(), 1)});
  }
  std::printf("%s", table.Render().c_str());
  return 0;
}

int RunStatus(const Args& args) {
  CliContext ctx;
  FlagSet flags(
      "kdnas status JOB [flags]\n\n"
      "Shows a job's state and progress, and what the controller read from its teacher and\n"
      "corpus at submission (for a Hugging Face teacher: family, architecture, layers, width,\n"
      "heads, dtype, parameters, and the tokenizer every student carries).");
  ctx.AddFlags(&flags);
  if (int rc = ParseCommandFlags(&flags, "status", args, 1, 1); rc >= 0) return rc;
  auto channel = ctx.Connect();
  if (!channel.ok()) return Fail("status", channel.status());
  auto stub = SearchService::NewStub(*channel);
  kdnas::v1::GetJobRequest request;
  request.set_name(JobName(flags.positional()[0]));
  kdnas::v1::Job job;
  auto call = ctx.NewCall();
  grpc::Status status = stub->GetJob(call.get(), request, &job);
  if (!status.ok()) return Fail("status", ctx.CallError(status));
  if (ctx.json) {
    ctx.PrintJson(job);
  } else {
    std::printf("%s%s", SummarizeJob(job).c_str(), SummarizeInputs(job).c_str());
  }
  return 0;
}

int RunCancel(const Args& args) {
  CliContext ctx;
  FlagSet flags(
      "kdnas cancel JOB [flags]\n\nCancels a job: no new trials, running ones are stopped.");
  ctx.AddFlags(&flags);
  if (int rc = ParseCommandFlags(&flags, "cancel", args, 1, 1); rc >= 0) return rc;
  auto channel = ctx.Connect();
  if (!channel.ok()) return Fail("cancel", channel.status());
  auto stub = SearchService::NewStub(*channel);
  kdnas::v1::CancelJobRequest request;
  request.set_name(JobName(flags.positional()[0]));
  kdnas::v1::Job job;
  auto call = ctx.NewCall();
  grpc::Status status = stub->CancelJob(call.get(), request, &job);
  if (!status.ok()) return Fail("cancel", ctx.CallError(status));
  if (ctx.json) {
    ctx.PrintJson(job);
  } else {
    std::printf("%s %s\n", job.name().c_str(), ShortName(job.state()).c_str());
  }
  return 0;
}

int RunTrials(const Args& args) {
  CliContext ctx;
  std::string state;
  int limit = 1000;
  FlagSet flags("kdnas trials JOB [flags]\n\nLists a job's trials in id order.");
  ctx.AddFlags(&flags);
  flags.String(
      "state", &state,
      "Only trials in this state: pending, running, succeeded, failed, rejected, stopped.");
  flags.Int("limit", &limit, "Trials to list at most.");
  if (int rc = ParseCommandFlags(&flags, "trials", args, 1, 1); rc >= 0) return rc;
  kdnas::v1::ListTrialsRequest base;
  base.set_parent(JobName(flags.positional()[0]));
  if (!state.empty()) {
    kdnas::v1::TrialState s;
    std::string upper;
    for (char c : state) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!kdnas::v1::TrialState_Parse("TRIAL_STATE_" + upper, &s)) {
      return Fail("trials", InvalidArgument("--state: unknown state '" + state + "'"));
    }
    base.add_states(s);
  }
  auto channel = ctx.Connect();
  if (!channel.ok()) return Fail("trials", channel.status());
  auto stub = SearchService::NewStub(*channel);
  kdnas::v1::ListTrialsResponse all;
  std::string token;
  do {
    kdnas::v1::ListTrialsRequest request = base;
    request.set_page_size(std::min(limit - all.trials_size(), 1000));
    request.set_page_token(token);
    kdnas::v1::ListTrialsResponse page;
    auto call = ctx.NewCall();
    grpc::Status status = stub->ListTrials(call.get(), request, &page);
    if (!status.ok()) return Fail("trials", ctx.CallError(status));
    for (auto& t : *page.mutable_trials()) *all.add_trials() = std::move(t);
    token = page.next_page_token();
  } while (!token.empty() && all.trials_size() < limit);
  if (ctx.json) {
    ctx.PrintJson(all);
    return 0;
  }
  Table table({"TRIAL", "STATE", "CANDIDATE", "SIZE", "VAL-LOSS", "COMPRESSION", "SPEEDUP",
               "WORKER-S", "NOTE"});
  for (const auto& t : all.trials()) {
    bool done = t.state() == kdnas::v1::TRIAL_STATE_SUCCEEDED;
    int64_t size = done ? t.metrics().size_bytes() : t.predicted().size_bytes();
    table.AddRow(
        {t.name(), TrialStateLabel(t), SummarizeCandidate(t.candidate()),
         size > 0 ? FormatBytes(size) : "", done ? FormatFixed(t.metrics().val_loss(), 4) : "",
         FormatRatio(t.metrics().has_compression_ratio(), t.metrics().compression_ratio()),
         FormatRatio(t.metrics().has_speedup(), t.metrics().speedup()),
         t.metrics().worker_seconds() > 0 ? FormatFixed(t.metrics().worker_seconds(), 1) : "",
         TrialNote(t)});
  }
  std::printf("%s", table.Render().c_str());
  return 0;
}

}  // namespace kdnas::cli
