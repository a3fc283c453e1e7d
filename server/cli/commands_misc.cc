// workers, upload, teacher.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "kdnas/v1/search_service.grpc.pb.h"
#include "server/cli/blob_upload.h"
#include "server/cli/cli_context.h"
#include "server/cli/commands.h"
#include "server/cli/format.h"

namespace kdnas::cli {
namespace {

namespace fs = std::filesystem;
using kdnas::v1::SearchService;

// kdnas-worker next to this binary (installed), in the build tree, or on PATH.
std::string FindWorkerBinary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path candidate : {self.parent_path() / "kdnas-worker",
                               self.parent_path().parent_path().parent_path() / "workers" / "kdnas-worker"}) {
      if (fs::exists(candidate)) return candidate.string();
    }
  }
  return "kdnas-worker";
}

}  // namespace

int RunWorkers(const Args& args) {
  CliContext ctx;
  FlagSet flags("kdnas workers [flags]\n\nLists the workers the controller has seen recently.");
  ctx.AddFlags(&flags);
  if (int rc = ParseCommandFlags(&flags, "workers", args, 0, 0); rc >= 0) return rc;
  auto channel = ctx.Connect();
  if (!channel.ok()) return Fail("workers", channel.status());
  auto stub = SearchService::NewStub(*channel);
  kdnas::v1::ListWorkersResponse response;
  auto call = ctx.NewCall();
  grpc::Status status = stub->ListWorkers(call.get(), kdnas::v1::ListWorkersRequest(), &response);
  if (!status.ok()) return Fail("workers", ctx.CallError(status));
  if (ctx.json) {
    ctx.PrintJson(response);
    return 0;
  }
  Table table({"WORKER", "HOST", "THREADS", "TRIAL", "COMPLETED", "LAST-SEEN-S-AGO"});
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& w : response.workers()) {
    table.AddRow({w.worker_id(), w.hostname(), std::to_string(w.threads()),
                  w.trial().empty() ? "-" : w.trial(), std::to_string(w.trials_completed()),
                  std::to_string(std::max<int64_t>(0, now - w.last_seen_time().seconds()))});
  }
  std::printf("%s", table.Render().c_str());
  return 0;
}

int RunUpload(const Args& args) {
  CliContext ctx;
  std::string kind = "dataset";
  FlagSet flags(
      "kdnas upload FILE_OR_DIR [flags]\n\n"
      "Uploads a dataset or teacher once; prints its blob name (blobs/<sha256>) to use in a\n"
      "job file as data.text.blob, teacher.model.blob or teacher.hf.blob. A directory (a\n"
      "Hugging Face checkpoint, --kind teacher) is packed into one uncompressed tar of its\n"
      "files first (in $TMPDIR, removed after), the blob teacher.hf.blob names.");
  ctx.AddFlags(&flags);
  flags.String("kind", &kind, "dataset or teacher (a checkpoint directory is a teacher).");
  if (int rc = ParseCommandFlags(&flags, "upload", args, 1, 1); rc >= 0) return rc;
  kdnas::v1::BlobKind blob_kind;
  if (kind == "dataset") {
    blob_kind = kdnas::v1::BLOB_KIND_DATASET;
  } else if (kind == "teacher") {
    blob_kind = kdnas::v1::BLOB_KIND_TEACHER;
  } else {
    return Fail("upload", InvalidArgument("--kind: '" + kind + "' is not dataset or teacher"));
  }
  const std::string path = flags.positional()[0];
  std::error_code ec;
  if (blob_kind != kdnas::v1::BLOB_KIND_TEACHER && fs::is_directory(path, ec)) {
    return Fail("upload", InvalidArgument(path + " is a directory: only a teacher (--kind "
                                                 "teacher, a Hugging Face checkpoint) may be one"));
  }
  auto channel = ctx.Connect();
  if (!channel.ok()) return Fail("upload", channel.status());
  auto stub = SearchService::NewStub(*channel);
  auto blob = UploadBlobPath(stub.get(), ctx, path, blob_kind);
  if (!blob.ok()) return Fail("upload", blob.status());
  if (ctx.json) {
    ctx.PrintJson(*blob);
  } else {
    std::printf("%s  %s  %s\n", blob->name().c_str(), FormatBytes(blob->size_bytes()).c_str(),
                blob->filename().c_str());
  }
  return 0;
}

int RunTeacher(const Args& args) {
  if (args.empty() || args[0] != "train") {
    std::printf(
        "kdnas teacher train [kdnas-worker train-teacher flags]\n\n"
        "Trains a teacher on this machine with kdnas-worker train-teacher (every flag is passed\n"
        "through; see 'kdnas-worker train-teacher --help').\n");
    return args.empty() ? 2 : (args[0] == "--help" ? 0 : 2);
  }
  std::vector<std::string> argv_strings = {FindWorkerBinary(), "train-teacher"};
  argv_strings.insert(argv_strings.end(), args.begin() + 1, args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "kdnas teacher: cannot run %s\n", argv[0]);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace kdnas::cli
