#include "server/cli/frontier_plot.h"

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kdnas::cli {
namespace {

const char kPlotScript[] = R"PY(
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
data = json.load(open(sys.argv[1]))
fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
if data["trials"]:
    xs, ys = zip(*data["trials"])
    ax.scatter(xs, ys, s=14, c="#bbbbbb", label="trials", zorder=1)
if data["frontier"]:
    pts = sorted(data["frontier"])
    xs, ys = zip(*pts)
    ax.step(xs, ys, where="post", c="#1f77b4", zorder=2)
    ax.scatter(xs, ys, s=30, c="#1f77b4", label="frontier", zorder=3)
ax.set_xscale("log")
ax.set_xlabel("artifact size (bytes)")
ax.set_ylabel("validation loss (nats/token)")
ax.set_title(data["title"])
ax.grid(True, which="both", alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(sys.argv[2])
)PY";

}  // namespace

Status PlotFrontier(const kdnas::v1::Frontier& frontier,
                    const google::protobuf::RepeatedPtrField<kdnas::v1::Trial>& trials,
                    const std::string& title, const std::string& out_path) {
  namespace fs = std::filesystem;
  std::string ext = fs::path(out_path).extension().string();
  if (ext != ".png" && ext != ".svg" && ext != ".pdf") {
    return InvalidArgument("--plot: '" + out_path + "' must end in .png, .svg or .pdf");
  }
  nlohmann::json data = {
      {"title", title}, {"trials", nlohmann::json::array()}, {"frontier", nlohmann::json::array()}};
  for (const auto& t : trials) {
    if (t.state() != kdnas::v1::TRIAL_STATE_SUCCEEDED || !std::isfinite(t.metrics().val_loss()))
      continue;
    data["trials"].push_back({t.metrics().size_bytes(), t.metrics().val_loss()});
  }
  for (const auto& p : frontier.points()) {
    if (!std::isfinite(p.metrics().val_loss())) continue;
    data["frontier"].push_back({p.metrics().size_bytes(), p.metrics().val_loss()});
  }
  fs::path dir = fs::temp_directory_path() / ("kdnas-plot-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path data_path = dir / "data.json";
  fs::path script = dir / "plot.py";
  std::ofstream(data_path) << data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::ofstream(script) << kPlotScript;
  std::string cmd = "/usr/bin/python3 '" + script.string() + "' '" + data_path.string() + "' '" +
                    out_path + "' 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string output;
  if (pipe != nullptr) {
    char buf[512];
    while (fgets(buf, sizeof(buf), pipe) != nullptr) output += buf;
  }
  int rc = pipe != nullptr ? pclose(pipe) : -1;
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (rc != 0) {
    return Unavailable("plotting failed (needs /usr/bin/python3 with python3-matplotlib): " +
                       output);
  }
  return Status::Ok();
}

}  // namespace kdnas::cli
