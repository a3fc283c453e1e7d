// The kdnas subcommands. Each takes its arguments (after the command name)
// and returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace kdnas::cli {

using Args = std::vector<std::string>;

int RunSubmit(const Args& args);    // submit JOB_FILE
int RunJobs(const Args& args);      // jobs
int RunStatus(const Args& args);    // status JOB
int RunCancel(const Args& args);    // cancel JOB
int RunWatch(const Args& args);     // watch JOB
int RunFrontier(const Args& args);  // frontier JOB [--plot FILE]
int RunBest(const Args& args);      // best JOB --max-size SIZE --out FILE
int RunTrials(const Args& args);    // trials JOB
int RunWorkers(const Args& args);   // workers
int RunUpload(const Args& args);    // upload FILE --kind dataset|teacher
int RunTeacher(const Args& args);   // teacher train ...
int RunExplain(const Args& args);   // explain JOB

// "3" or "jobs/3" -> "jobs/3".
std::string JobName(const std::string& arg);

}  // namespace kdnas::cli
