// kdnas-worker: trains, compresses and evaluates candidate students.
#include <torch/torch.h>

#include <cstdio>
#include <string>
#include <vector>

#include "search/flags.h"
#include "workers/commands.h"
#include "workers/rtn_baseline.h"
#include "workers/serve_command.h"
#include "workers/worker_info.h"

namespace {

const char kUsage[] =
    "kdnas-worker COMMAND [flags]\n"
    "\n"
    "Commands:\n"
    "  info            Print the threads, BLAS library and LibTorch version this worker uses.\n"
    "  train-teacher   Train a GPT teacher on a text file and save it as TorchScript.\n"
    "  run-candidate   Distill, compress, evaluate and export one candidate student.\n"
    "  run-candidates  Run-candidate for each JSON line of stdin, in one process that keeps\n"
    "                  the teacher, its output cache and the held-out set loaded.\n"
    "  generate        Sample text from a TorchScript model (teacher or student).\n"
    "  export-hf       Write a student of an imported teacher in the teacher's Hugging Face\n"
    "                  layout (config.json, model.safetensors, the tokenizer's files).\n"
    "  export-gguf     Write a TorchScript model as a GGUF file for llama.cpp, in one of\n"
    "                  llama.cpp's types (f16, q8_0, q4_k, ...).\n"
    "  llama           Run a GGUF file in llama.cpp: held-out NLL on a corpus, a sample, and\n"
    "                  decode speed.\n"
    "  serve           Lease trials from a controller and run them (the worker process).\n"
    "  baseline-rtn    Round-to-nearest quantization of the teacher: the points a search should "
    "beat.\n"
    "\n"
    "Run 'kdnas-worker COMMAND --help' for the flags of a command. Every command takes\n"
    "--log-level (trace, debug, info, warn, error, off; default info) and --log-format\n"
    "(text or json; default text) for its log lines on stderr.";

int RunInfo(const std::vector<std::string>& args) {
  kdnas::FlagSet flags("kdnas-worker info: print what this worker runs on.");
  if (int rc = kdnas::ParseCommandFlags(flags, args, "info"); rc >= 0) return rc;
  std::printf("%s", kdnas::FormatWorkerInfo(kdnas::DescribeWorker()).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    std::printf("%s\n", kUsage);
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "info") return RunInfo(args);
  if (command == "train-teacher") return kdnas::TrainTeacherCommand(args);
  if (command == "run-candidate") return kdnas::RunCandidateCommand(args);
  if (command == "run-candidates") return kdnas::RunCandidatesCommand(args);
  if (command == "generate") return kdnas::GenerateCommand(args);
  if (command == "export-hf") return kdnas::ExportHfCommand(args);
  if (command == "export-gguf") return kdnas::ExportGgufCommand(args);
  if (command == "llama") return kdnas::LlamaCommand(args);
  if (command == "serve") return kdnas::ServeCommand(args);
  if (command == "baseline-rtn") return kdnas::RtnBaselineCommand(args);
  std::fprintf(stderr, "kdnas-worker: unknown command '%s'\n%s\n", command.c_str(), kUsage);
  return 2;
}
