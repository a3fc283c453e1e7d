#include "server/cli/frontier_plot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

extern char** environ;

namespace kdnas::cli {
namespace {

// Run as `python3 -c SCRIPT DATA_JSON OUT_PATH`: argv, not a shell, so no
// character of either path is special.
const char kPlotScript[] = R"PY(
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
data = json.load(open(sys.argv[1], encoding="utf-8"))
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

  std::string dir_template = (fs::temp_directory_path() / "kdnas-plot-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    return Unavailable(std::string("plotting failed: cannot create a temporary directory: ") +
                       std::strerror(errno));
  }
  const fs::path dir = dir_template;
  const std::string data_path = (dir / "data.json").string();
  const std::string log_path = (dir / "python.log").string();
  std::ofstream(data_path) << data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  // python3's stdout and stderr go to a file (read on failure): no pipe to drain.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::string python = "/usr/bin/python3";
  std::string dash_c = "-c";
  std::string script = kPlotScript;
  std::string data_arg = data_path;
  std::string out_arg = out_path;
  char* argv[] = {python.data(),   dash_c.data(),  script.data(),
                  data_arg.data(), out_arg.data(), nullptr};
  pid_t pid = 0;
  int spawn_error = posix_spawn(&pid, python.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  int wait_status = 0;
  if (spawn_error == 0) {
    while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
    }
  }
  std::ostringstream output;
  output << std::ifstream(log_path).rdbuf();
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (spawn_error != 0) {
    return Unavailable("plotting failed: cannot run /usr/bin/python3 (" +
                       std::string(std::strerror(spawn_error)) + "; install python3-matplotlib)");
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return Unavailable("plotting failed (needs /usr/bin/python3 with python3-matplotlib): " +
                       output.str());
  }
  return Status::Ok();
}

}  // namespace kdnas::cli
