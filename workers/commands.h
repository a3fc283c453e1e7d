// The kdnas-worker subcommands that run the engine from the command line.
// Each parses its flags, prints a one-line error and returns non-zero on
// failure (2 for bad flags, 1 otherwise).
#pragma once

#include <string>
#include <vector>

namespace kdnas {

int TrainTeacherCommand(const std::vector<std::string>& args);
int RunCandidateCommand(const std::vector<std::string>& args);
// run-candidate for each JSON line of stdin, keeping the job loaded across them.
int RunCandidatesCommand(const std::vector<std::string>& args);
int GenerateCommand(const std::vector<std::string>& args);

}  // namespace kdnas
