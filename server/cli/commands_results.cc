// frontier, best, explain: reading what a search found.
#include <cstdio>
#include <filesystem>

#include "formats/tar_archive.h"
#include "kdnas/v1/search_service.grpc.pb.h"
#include "server/cli/blob_upload.h"
#include "server/cli/cli_context.h"
#include "server/cli/commands.h"
#include "server/cli/format.h"
#include "server/cli/frontier_plot.h"
#include "server/cli/job_summary.h"

namespace kdnas::cli {
namespace {

using kdnas::v1::SearchService;

StatusOr<google::protobuf::RepeatedPtrField<kdnas::v1::Trial>> SucceededTrials(
    SearchService::Stub* stub, const CliContext& ctx, const std::string& job) {
  google::protobuf::RepeatedPtrField<kdnas::v1::Trial> out;
  std::string token;
  do {
    kdnas::v1::ListTrialsRequest request;
    request.set_parent(job);
    request.add_states(kdnas::v1::TRIAL_STATE_SUCCEEDED);
    request.set_page_size(1000);
    request.set_page_token(token);
    kdnas::v1::ListTrialsResponse page;
    auto call = ctx.NewCall();
    grpc::Status status = stub->ListTrials(call.get(), request, &page);
    if (!status.ok()) return ctx.CallError(status);
    for (auto& t : *page.mutable_trials()) *out.Add() = std::move(t);
    token = page.next_page_token();
  } while (!token.empty());
  return out;
}

}  // namespace

int RunFrontier(const Args& args) {
  CliContext ctx;
  std::string plot;
  bool scatter = true;
  FlagSet flags(
      "kdnas frontier JOB [flags]\n\n"
      "Prints the Pareto frontier as a table and a loss-versus-size scatter.");
  ctx.AddFlags(&flags);
  flags.String("plot", &plot, "Also write the plot to this file (.png, .svg or .pdf).");
  flags.Bool("scatter", &scatter, "Draw the terminal scatter (--no-scatter to skip).");
  if (int rc = ParseCommandFlags(&flags, "frontier", args, 1, 1); rc >= 0) return rc;
  auto channel = ctx.Connect();
  if (!channel.ok()) return Fail("frontier", channel.status());
  auto stub = SearchService::NewStub(*channel);
  kdnas::v1::GetFrontierRequest request;
  request.set_name(JobName(flags.positional()[0]));
  kdnas::v1::Frontier frontier;
  auto call = ctx.NewCall();
  grpc::Status status = stub->GetFrontier(call.get(), request, &frontier);
  if (!status.ok()) return Fail("frontier", ctx.CallError(status));
  if (ctx.json) {
    ctx.PrintJson(frontier);
  } else {
    std::vector<std::string> header = {"TRIAL",  "SIZE",       "VAL-LOSS",    "AGREE",
                                       "PARAMS", "LATENCY-MS", "COMPRESSION", "SPEEDUP"};
    header.push_back("CANDIDATE");
    Table table(header);
    std::vector<ScatterPoint> points;
    for (const auto& p : frontier.points()) {
      const auto& m = p.metrics();
      table.AddRow({p.trial(), FormatBytes(m.size_bytes()), FormatFixed(m.val_loss(), 4),
                    FormatFixed(m.teacher_agreement(), 3), FormatCount(m.params()),
                    m.has_latency_ms() ? FormatFixed(m.latency_ms(), 3) : "-",
                    FormatRatio(m.has_compression_ratio(), m.compression_ratio()),
                    FormatRatio(m.has_speedup(), m.speedup()), SummarizeCandidate(p.candidate())});
      points.push_back({static_cast<double>(m.size_bytes()), m.val_loss(), '*'});
    }
    std::printf("%s: %d frontier points, hypervolume %s\n\n%s", frontier.job().c_str(),
                frontier.points_size(), FormatFixed(frontier.hypervolume(), 6).c_str(),
                table.Render().c_str());
    if (scatter && !points.empty()) {
      std::printf("\n%s", RenderScatter(points, "artifact size", "validation loss").c_str());
    }
  }
  if (!plot.empty()) {
    auto trials = SucceededTrials(stub.get(), ctx, request.name());
    if (!trials.ok()) return Fail("frontier", trials.status());
    if (Status s = PlotFrontier(frontier, *trials, request.name(), plot); !s.ok()) {
      return Fail("frontier", s);
    }
    if (!ctx.json) std::printf("\nwrote %s\n", plot.c_str());
  }
  return 0;
}

int RunBest(const Args& args) {
  CliContext ctx;
  std::string max_size, out, packed_out, hf_out, gguf_out, objective;
  int64_t max_params = 0;
  double max_latency_ms = 0;
  FlagSet flags(
      "kdnas best JOB [flags]\n\n"
      "Finds the best succeeded trial within the limits and optionally downloads its student.");
  ctx.AddFlags(&flags);
  flags.String("max-size", &max_size, "Largest artifact size, with units: 400KB, 1.5MiB, 200000.");
  flags.Int("max-params", &max_params, "Most parameters (0 = no limit).");
  flags.Double("max-latency-ms", &max_latency_ms, "Longest latency per token, ms (0 = no limit).");
  flags.String("objective", &objective, "Metric to optimize (default val_loss).");
  flags.String("out", &out, "Write the TorchScript student (loads with torch.jit.load) here.");
  flags.String("packed-out", &packed_out,
               "Write the packed artifact (docs/artifact-format.md) here.");
  flags.String("hf-out", &hf_out,
               "Create this directory with the student in its imported teacher's Hugging Face "
               "layout (config.json, model.safetensors in F16, the tokenizer's files).");
  flags.String("gguf-out", &gguf_out,
               "Write the student as a GGUF file that llama.cpp runs (docs/gguf.md) here.");
  if (int rc = ParseCommandFlags(&flags, "best", args, 1, 1); rc >= 0) return rc;
  if (!hf_out.empty() && std::filesystem::exists(hf_out)) {
    return Fail("best", InvalidArgument("--hf-out: " + hf_out + " exists: give a new directory"));
  }
  kdnas::v1::GetBestRequest request;
  request.set_job(JobName(flags.positional()[0]));
  if (!max_size.empty()) {
    auto bytes = ParseByteSize(max_size);
    if (!bytes.ok())
      return Fail("best", InvalidArgument("--max-size: " + bytes.status().message()));
    request.set_max_size_bytes(*bytes);
  }
  request.set_max_params(max_params);
  request.set_max_latency_ms(max_latency_ms);
  request.set_objective(objective);
  auto channel = ctx.Connect();
  if (!channel.ok()) return Fail("best", channel.status());
  auto stub = SearchService::NewStub(*channel);
  kdnas::v1::Trial trial;
  auto call = ctx.NewCall();
  grpc::Status status = stub->GetBest(call.get(), request, &trial);
  if (!status.ok()) return Fail("best", ctx.CallError(status));
  if (!out.empty()) {
    Status s = DownloadArtifactFile(stub.get(), ctx, trial.torchscript_artifact(), out);
    if (!s.ok()) return Fail("best", s);
  }
  if (!packed_out.empty()) {
    if (trial.artifact().empty()) {
      return Fail("best", FailedPrecondition(
                              trial.name() + " has no packed artifact: it is a student in " +
                              "llama.cpp's " + trial.candidate().compression().weight_format() +
                              ", which its GGUF file holds (--gguf-out)"));
    }
    Status s = DownloadArtifactFile(stub.get(), ctx, trial.artifact(), packed_out);
    if (!s.ok()) return Fail("best", s);
  }
  if (!hf_out.empty()) {
    if (trial.hf_artifact().empty()) {
      return Fail("best",
                  FailedPrecondition(trial.name() + " has no Hugging Face export: " +
                                     (trial.hf_unavailable().empty()
                                          ? "its job's teacher is not an imported checkpoint"
                                          : trial.hf_unavailable())));
    }
    const std::string tar = hf_out + ".tar.tmp";
    Status s = DownloadArtifactFile(stub.get(), ctx, trial.hf_artifact(), tar);
    if (s.ok()) s = ExtractTar(tar, hf_out);
    std::filesystem::remove(tar);
    if (!s.ok()) return Fail("best", s);
  }
  if (!gguf_out.empty()) {
    if (trial.gguf_artifact().empty()) {
      return Fail("best", FailedPrecondition(trial.name() + " has no GGUF export: " +
                                             (trial.gguf_unavailable().empty()
                                                  ? "its worker wrote none"
                                                  : trial.gguf_unavailable())));
    }
    Status s = DownloadArtifactFile(stub.get(), ctx, trial.gguf_artifact(), gguf_out);
    if (!s.ok()) return Fail("best", s);
  }
  if (ctx.json) {
    ctx.PrintJson(trial);
    return 0;
  }
  const auto& m = trial.metrics();
  std::printf(
      "best: %s  %s\n  size %s, val loss %s (perplexity %s), teacher agreement %s\n"
      "  params %s (%s non-zero), %s\n",
      trial.name().c_str(), SummarizeCandidate(trial.candidate()).c_str(),
      FormatBytes(m.size_bytes()).c_str(), FormatFixed(m.val_loss(), 4).c_str(),
      FormatFixed(m.perplexity(), 3).c_str(), FormatFixed(m.teacher_agreement(), 3).c_str(),
      FormatCount(m.params()).c_str(), FormatCount(m.nonzero_params()).c_str(),
      m.has_latency_ms() ? (FormatFixed(m.latency_ms(), 3) + " ms/token").c_str()
                         : "latency not measured");
  if (m.has_speedup()) {
    std::printf("  against the teacher's F16 GGUF: %s smaller, %s faster to decode\n",
                FormatRatio(true, m.compression_ratio()).c_str(),
                FormatRatio(true, m.speedup()).c_str());
  }
  if (!trial.latency_measured_with().empty())
    std::printf("  latency measured with %s\n", trial.latency_measured_with().c_str());
  if (!trial.proposed_by().empty()) std::printf("  proposed by %s\n", trial.proposed_by().c_str());
  if (m.peak_rss_bytes() > 0)
    std::printf("  its worker's peak memory during the trial: %s\n",
                FormatBytes(m.peak_rss_bytes()).c_str());
  if (!out.empty()) std::printf("wrote %s (TorchScript)\n", out.c_str());
  if (!packed_out.empty()) std::printf("wrote %s (packed)\n", packed_out.c_str());
  if (!hf_out.empty()) std::printf("wrote %s (Hugging Face layout)\n", hf_out.c_str());
  if (!gguf_out.empty()) {
    std::printf("wrote %s (GGUF, %s)\n", gguf_out.c_str(),
                FormatBytes(m.gguf_size_bytes()).c_str());
  }
  return 0;
}

int RunExplain(const Args& args) {
  CliContext ctx;
  FlagSet flags(
      "kdnas explain JOB [flags]\n\n"
      "Explains a job's results: how much each knob matters for each objective, and what\n"
      "changes (and what it costs) between neighbouring frontier points.");
  ctx.AddFlags(&flags);
  if (int rc = ParseCommandFlags(&flags, "explain", args, 1, 1); rc >= 0) return rc;
  auto channel = ctx.Connect();
  if (!channel.ok()) return Fail("explain", channel.status());
  auto stub = SearchService::NewStub(*channel);
  kdnas::v1::ExplainJobRequest request;
  request.set_name(JobName(flags.positional()[0]));
  kdnas::v1::Explanation explanation;
  auto call = ctx.NewCall();
  grpc::Status status = stub->ExplainJob(call.get(), request, &explanation);
  if (!status.ok()) return Fail("explain", ctx.CallError(status));
  if (ctx.json) {
    ctx.PrintJson(explanation);
    return 0;
  }
  Table importances({"METRIC", "KNOB", "IMPORTANCE"});
  for (const auto& k : explanation.importances()) {
    importances.AddRow({k.metric(), k.knob(), FormatFixed(k.importance(), 3)});
  }
  std::printf(
      "knob importance (permutation importance on a random-forest surrogate; shares per "
      "metric):\n%s\n",
      importances.Render().c_str());
  Table trade({"FROM", "TO", "SIZE-DELTA", "LOSS-DELTA", "NATS/MB", "CHANGED"});
  for (const auto& t : explanation.trade_offs()) {
    std::string changed;
    for (const auto& c : t.changed_knobs()) changed += (changed.empty() ? "" : "; ") + c;
    trade.AddRow({t.from_trial(), t.to_trial(), FormatBytes(t.size_bytes_delta()),
                  FormatFixed(t.val_loss_delta(), 4), FormatFixed(t.nats_per_megabyte(), 3),
                  changed});
  }
  std::printf("trade-offs along the frontier:\n%s", trade.Render().c_str());
  for (const auto& [name, tau] : explanation.predictor_kendall_tau()) {
    std::printf("predictor %s: Kendall tau %s\n", name.c_str(), FormatFixed(tau, 3).c_str());
  }
  return 0;
}

}  // namespace kdnas::cli
