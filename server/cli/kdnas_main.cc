// kdnas: the command-line client of a kdnas controller.
#include <cstdio>
#include <string>
#include <vector>

#include "server/cli/commands.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const kdnas::cli::Args&);
};

const Command kCommands[] = {
    {"submit", "Submit a search job from a YAML or JSON file.", kdnas::cli::RunSubmit},
    {"jobs", "List jobs.", kdnas::cli::RunJobs},
    {"status", "Show a job's state, progress, teacher and tokenizer.", kdnas::cli::RunStatus},
    {"watch", "Follow a job live until it ends.", kdnas::cli::RunWatch},
    {"trials", "List a job's trials.", kdnas::cli::RunTrials},
    {"frontier", "Print the Pareto frontier (table, scatter, --plot FILE).",
     kdnas::cli::RunFrontier},
    {"best", "Best student within a size/params/latency budget (--out student.pt).",
     kdnas::cli::RunBest},
    {"explain", "Knob importance and trade-offs along the frontier.", kdnas::cli::RunExplain},
    {"cancel", "Cancel a job.", kdnas::cli::RunCancel},
    {"workers", "List workers.", kdnas::cli::RunWorkers},
    {"upload", "Upload a dataset or teacher (a file, or a checkpoint directory) as a blob.",
     kdnas::cli::RunUpload},
    {"teacher", "Train a teacher locally (teacher train ...).", kdnas::cli::RunTeacher},
};

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "kdnas COMMAND [flags]\n\n"
               "The command-line client of a kdnas controller. The controller address and token\n"
               "come from --addr/--token or KDNAS_ADDR/KDNAS_TOKEN.\n\nCommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-9s %s\n", c.name, c.summary);
  std::fprintf(out, "  %-9s %s\n", "version", "Print the client version.");
  std::fprintf(out, "\nRun 'kdnas COMMAND --help' for the flags of a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "help" || name == "-h") {
    PrintUsage(stdout);
    return 0;
  }
  if (name == "version" || name == "--version") {
    std::printf("kdnas 0.1.0 (API kdnas.v1)\n");
    return 0;
  }
  kdnas::cli::Args args(argv + 2, argv + argc);
  for (const auto& c : kCommands) {
    if (name == c.name) return c.run(args);
  }
  std::fprintf(stderr, "kdnas: unknown command '%s' (see kdnas --help)\n", name.c_str());
  return 2;
}
