// The kdnas-worker subcommands that run the engine from the command line.
// Each parses its flags, prints a one-line error and returns non-zero on
// failure (2 for bad flags, 1 otherwise).
#pragma once

#include <string>
#include <vector>

#include "search/flags.h"
#include "search/status.h"

namespace kdnas {

// Parses a command's flags, with --log-level and --log-format, configures
// logging and routes LibTorch's warnings into it. Returns -1 to go on, else
// the exit code: 0 after printing --help, 2 after a one-line error.
int ParseCommandFlags(FlagSet& flags, const std::vector<std::string>& args, const char* name);
// Prints "kdnas-worker NAME: <message on one line>" to stderr; returns 1.
int FailCommand(const char* name, const Status& s);

int TrainTeacherCommand(const std::vector<std::string>& args);
int RunCandidateCommand(const std::vector<std::string>& args);
// run-candidate for each JSON line of stdin, keeping the job loaded across them.
int RunCandidatesCommand(const std::vector<std::string>& args);
int GenerateCommand(const std::vector<std::string>& args);
// A TorchScript student of an imported teacher in the teacher's Hugging Face
// layout (workers/export_commands.cc, as export-gguf).
int ExportHfCommand(const std::vector<std::string>& args);
// A TorchScript model as a GGUF file for llama.cpp.
int ExportGgufCommand(const std::vector<std::string>& args);
// A GGUF file run by llama.cpp: held-out NLL, a sample, speed (llama_command.cc).
int LlamaCommand(const std::vector<std::string>& args);

}  // namespace kdnas
