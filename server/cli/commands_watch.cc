// watch: a live view of a running job, redrawn in place on a terminal and as
// plain lines otherwise (logs, CI).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <thread>

#include "kdnas/v1/search_service.grpc.pb.h"
#include "server/cli/cli_context.h"
#include "server/cli/commands.h"
#include "server/cli/format.h"
#include "server/cli/job_summary.h"

namespace kdnas::cli {
namespace {

using kdnas::v1::JobEvent;
using kdnas::v1::SearchService;

bool IsTerminal(kdnas::v1::JobState s) {
  return s == kdnas::v1::JOB_STATE_SUCCEEDED || s == kdnas::v1::JOB_STATE_FAILED ||
         s == kdnas::v1::JOB_STATE_CANCELLED;
}

class WatchView {
 public:
  WatchView(SearchService::Stub* stub, const CliContext& ctx, std::string job, bool in_place)
      : stub_(stub), ctx_(ctx), job_(std::move(job)), in_place_(in_place) {}

  Status Refresh(bool frontier_changed) {
    kdnas::v1::GetJobRequest request;
    request.set_name(job_);
    auto call = ctx_.NewCall();
    grpc::Status status = stub_->GetJob(call.get(), request, &job_state_);
    if (!status.ok()) return ctx_.CallError(status);
    if (frontier_changed || !have_frontier_) {
      kdnas::v1::GetFrontierRequest fr;
      fr.set_name(job_);
      auto fcall = ctx_.NewCall();
      status = stub_->GetFrontier(fcall.get(), fr, &frontier_);
      if (!status.ok()) return ctx_.CallError(status);
      have_frontier_ = true;
    }
    return Status::Ok();
  }

  void OnEvent(const JobEvent& e) {
    if (e.has_trial_progressed()) {
      progress_[e.trial_progressed().trial()] = e.trial_progressed().progress();
    } else if (e.has_trial_state_changed()) {
      const auto& t = e.trial_state_changed().trial();
      if (t.state() != kdnas::v1::TRIAL_STATE_RUNNING) progress_.erase(t.name());
      if (!in_place_) {
        std::string line = t.name() + " " + TrialStateLabel(t);
        if (t.state() == kdnas::v1::TRIAL_STATE_SUCCEEDED) {
          line += "  size " + FormatBytes(t.metrics().size_bytes()) + "  val loss " +
                  FormatFixed(t.metrics().val_loss(), 4);
        }
        if (!TrialNote(t).empty()) line += "  (" + TrialNote(t) + ")";
        Print(line + "\n");
      }
    } else if (e.has_job_state_changed() && !in_place_) {
      // Plain lines: each change of the teacher pass once.
      const auto& p = e.job_state_changed().progress();
      if (p.teacher_shards() > 0 && p.teacher_shards_done() != shards_done_) {
        shards_done_ = p.teacher_shards_done();
        Print(TeacherPassLine(p) + "\n");
      }
    } else if (e.has_frontier_changed() && !in_place_) {
      Print("frontier: " + std::to_string(e.frontier_changed().frontier_size()) +
            " points, hypervolume " + FormatFixed(e.frontier_changed().hypervolume(), 6) + "\n");
    }
  }

  void Draw() {
    if (!in_place_) return;
    std::ostringstream out;
    out << SummarizeJob(job_state_);
    for (int64_t budget : job_state_.spec().report_size_budgets_bytes()) {
      double best = -1;
      for (const auto& p : frontier_.points()) {
        if (p.metrics().size_bytes() <= budget && (best < 0 || p.metrics().val_loss() < best)) {
          best = p.metrics().val_loss();
        }
      }
      out << "  best val loss <= " << FormatBytes(budget) << ": "
          << (best < 0 ? std::string("-") : FormatFixed(best, 4)) << "\n";
    }
    for (const auto& [trial, p] : progress_) {
      out << "  " << trial << ": step " << p.step() << ", train loss "
          << FormatFixed(p.train_loss(), 3);
      if (p.val_step() > 0)
        out << ", val loss " << FormatFixed(p.val_loss(), 3) << " @" << p.val_step();
      out << "\n";
    }
    std::string text = out.str();
    // Move up over the previous drawing and clear it, then draw anew.
    if (lines_drawn_ > 0) std::printf("\033[%dA\033[J", lines_drawn_);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    lines_drawn_ = 0;
    for (char c : text) lines_drawn_ += c == '\n';
  }

  void PrintFinal() {
    if (!in_place_) Print(SummarizeJob(job_state_));
  }

  const kdnas::v1::Job& job() const { return job_state_; }

 private:
  static void Print(const std::string& s) {
    std::fputs(s.c_str(), stdout);
    std::fflush(stdout);
  }

  SearchService::Stub* stub_;
  const CliContext& ctx_;
  std::string job_;
  bool in_place_;
  kdnas::v1::Job job_state_;
  kdnas::v1::Frontier frontier_;
  bool have_frontier_ = false;
  int64_t shards_done_ = -1;  // teacher shards done, as last printed
  std::map<std::string, kdnas::v1::TrialProgress> progress_;
  int lines_drawn_ = 0;
};

}  // namespace

int RunWatch(const Args& args) {
  CliContext ctx;
  bool plain = false;
  FlagSet flags(
      "kdnas watch JOB [flags]\n\n"
      "Follows a job until it ends: trials done of budget, running trials, worker-seconds,\n"
      "hypervolume and the best loss under each of the job's report_size_budgets_bytes.\n"
      "Redraws in place on a terminal; prints one line per event otherwise.");
  ctx.AddFlags(&flags);
  flags.Bool("plain", &plain, "Print plain lines even on a terminal.");
  if (int rc = ParseCommandFlags(&flags, "watch", args, 1, 1); rc >= 0) return rc;
  auto channel = ctx.Connect();
  if (!channel.ok()) return Fail("watch", channel.status());
  auto stub = SearchService::NewStub(*channel);
  const std::string job = JobName(flags.positional()[0]);
  const bool in_place = !plain && !ctx.json && isatty(STDOUT_FILENO);
  WatchView view(stub.get(), ctx, job, in_place);
  if (Status s = view.Refresh(true); !s.ok()) return Fail("watch", s);
  view.Draw();

  int64_t after = 0;
  for (int attempt = 0; attempt < 30 && !IsTerminal(view.job().state()); ++attempt) {
    kdnas::v1::WatchJobRequest request;
    request.set_name(job);
    request.set_after_sequence(after);
    request.set_include_progress(true);
    auto call = ctx.NewCall(/*streaming=*/true);
    auto reader = stub->WatchJob(call.get(), request);
    JobEvent event;
    auto last_refresh = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    while (reader->Read(&event)) {
      attempt = 0;
      after = event.sequence();
      if (ctx.json) ctx.PrintJson(event);
      view.OnEvent(event);
      bool frontier = event.has_frontier_changed() || event.has_resync();
      bool ended = event.has_job_state_changed() && IsTerminal(event.job_state_changed().state());
      auto now = std::chrono::steady_clock::now();
      if (frontier || ended || event.has_trial_state_changed() ||
          now - last_refresh > std::chrono::seconds(1)) {
        if (Status s = view.Refresh(frontier); !s.ok()) return Fail("watch", s);
        last_refresh = now;
      }
      if (!ctx.json) view.Draw();
      if (ended) break;
    }
    grpc::Status status = reader->Finish();
    if (IsTerminal(view.job().state())) break;
    if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      return Fail("watch", ctx.CallError(status));
    }
    // The controller went away (restart): resume from the last sequence.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (Status s = view.Refresh(true); !s.ok() && s.code() != StatusCode::kUnavailable) {
      return Fail("watch", s);
    }
  }
  if (!ctx.json) view.PrintFinal();
  return IsTerminal(view.job().state()) ? 0 : 1;
}

}  // namespace kdnas::cli
