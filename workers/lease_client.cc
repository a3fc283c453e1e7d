#include "workers/lease_client.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "log/log.h"
#include "proto/client_channel.h"
#include "proto/grpc_status.h"
#include "search/sha256.h"

namespace kdnas {

namespace fs = std::filesystem;

namespace {

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Status WriteFileAtomically(const fs::path& path, const std::string& data) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) return Unavailable("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Unavailable("cannot write " + path.string() + ": " + ec.message());
  return Status::Ok();
}

// The lease loop's rule for RPCs, separate from whether a trial is retried
// (RetryableTrialFailure): a call that failed for a reason that may pass
// (the controller restarting, overloaded or unreachable) is retried with
// backoff; any other answer is final.
bool Transient(StatusCode code) {
  return code == StatusCode::kUnavailable || code == StatusCode::kDeadlineExceeded ||
         code == StatusCode::kResourceExhausted || code == StatusCode::kAborted ||
         code == StatusCode::kInternal || code == StatusCode::kUnknown;
}

const char* kReportFile = "report.pb";
const char* kTrialFile = "trial";  // the trial's name, for the log
const char* kPackedFile = "student.kdna";
const char* kTorchScriptFile = "student.pt";
const char* kHfFile = "student-hf.tar";
const char* kGgufFile = "student.gguf";
const char* kShardFile = "teacher-shard.bin";

// What a lease is for, in logs: its trial or its teacher shard.
const std::string& LeaseName(const v1::Lease& lease) {
  return lease.has_teacher_shard() ? lease.teacher_shard().name() : lease.trial().name();
}

}  // namespace

// ------------------------------------------------------------------ Context

// One running trial: heartbeats in the background, progress and stop flags.
class LeaseClient::Context : public TrialContext {
 public:
  Context(LeaseClient* client, const v1::Lease& lease, std::string scratch)
      : client_(client), lease_(lease), scratch_(std::move(scratch)) {
    interval_ms_ = std::max(100, lease.heartbeat_interval_ms());
    thread_ = std::thread([this] { Loop(); });
  }
  ~Context() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  bool Progress(const v1::TrialProgress& progress) override {
    bool rung;
    {
      std::lock_guard<std::mutex> lock(mu_);
      rung = progress.val_step() != progress_.val_step() && progress.val_step() > 0;
      progress_ = progress;
    }
    // A new validation loss may decide whether the trial goes on: ask now.
    if (rung) Beat();
    if (client_->stopping_) stop_ = true;
    return stop_;
  }
  const std::atomic<bool>& stop_flag() const override { return stop_; }
  StatusOr<std::string> Fetch(const v1::FileRef& ref) override { return client_->Fetch(ref); }
  std::string scratch_dir() const override { return scratch_; }
  bool lost() const { return lost_; }
  bool stopped_by_controller() const { return stopped_by_controller_; }

 private:
  void Beat() {
    v1::HeartbeatRequest request;
    request.set_lease_token(lease_.token());
    {
      std::lock_guard<std::mutex> lock(mu_);
      *request.mutable_progress() = progress_;
    }
    v1::HeartbeatResponse response;
    auto call = client_->NewCall(10'000);
    Status s = FromGrpcStatus(client_->stub_->Heartbeat(call.get(), request, &response));
    if (s.ok() && response.action() == v1::HEARTBEAT_ACTION_STOP) {
      stopped_by_controller_ = true;
      stop_ = true;
    } else if (s.code() == StatusCode::kFailedPrecondition) {
      lost_ = true;  // expired or replaced: abandon it
      stop_ = true;
    }
    // Anything else: the controller is away; keep training and retry.
  }
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!done_) {
      cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return done_; });
      if (done_) break;
      lock.unlock();
      Beat();
      if (client_->stopping_) stop_ = true;
      lock.lock();
    }
  }

  LeaseClient* client_;
  v1::Lease lease_;
  std::string scratch_;
  int interval_ms_ = 5000;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  v1::TrialProgress progress_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> lost_{false};
  std::atomic<bool> stopped_by_controller_{false};
  std::thread thread_;
};

// ------------------------------------------------------------------ client

StatusOr<std::unique_ptr<LeaseClient>> LeaseClient::Create(const LeaseClientOptions& options) {
  std::unique_ptr<LeaseClient> c(new LeaseClient());
  c->options_ = options;
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  c->hostname_ = host;
  if (c->options_.worker_id.empty())
    c->options_.worker_id = c->hostname_ + "-" + std::to_string(getpid());
  std::error_code ec;
  for (const char* sub : {"blobs", "spool", "scratch"}) {
    fs::create_directories(fs::path(options.cache_dir) / sub, ec);
    if (ec)
      return InvalidArgument("--cache-dir: cannot create " + options.cache_dir + ": " +
                             ec.message());
  }
  KDNAS_ASSIGN_OR_RETURN(c->channel_, MakeControllerChannel(options.controller, options.tls_ca,
                                                            options.tls_cert, options.tls_key));
  c->stub_ = v1::WorkerService::NewStub(c->channel_);
  return c;
}

std::unique_ptr<grpc::ClientContext> LeaseClient::NewCall(int64_t deadline_ms) const {
  return NewControllerCall(options_.token, deadline_ms);
}

void LeaseClient::Backoff(int attempt) const {
  int64_t ms =
      std::min<int64_t>(options_.max_backoff_ms, static_cast<int64_t>(options_.initial_backoff_ms)
                                                     << std::min(attempt, 16));
  for (int64_t waited = 0; waited < ms && !stopping_; waited += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

StatusOr<std::string> LeaseClient::Fetch(const v1::FileRef& ref) {
  if (ref.source_case() == v1::FileRef::kPath) {
    if (!fs::exists(ref.path())) return NotFound(ref.path() + " does not exist on this worker");
    return ref.path();
  }
  // Blobs and artifacts (teacher shards) are both content-addressed.
  const std::string& name = ref.blob();
  const size_t slash = name.find('/');
  if (ref.source_case() != v1::FileRef::kBlob || slash == std::string::npos ||
      (name.compare(0, slash, "blobs") != 0 && name.compare(0, slash, "artifacts") != 0) ||
      !IsSha256Hex(name.substr(slash + 1))) {
    return InvalidArgument("the trial names no usable file");
  }
  std::lock_guard<std::mutex> lock(fetch_mu_);
  const std::string sha = name.substr(slash + 1);
  fs::path path = fs::path(options_.cache_dir) / "blobs" / sha;
  if (fs::exists(path)) return path.string();
  fs::path tmp = path;
  tmp += ".part";
  for (int attempt = 0;; ++attempt) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    Sha256 hash;
    v1::DownloadBlobRequest request;
    request.set_name(ref.blob());
    auto call = NewCall(600'000);
    auto reader = stub_->DownloadBlob(call.get(), request);
    v1::DataChunk chunk;
    while (reader->Read(&chunk)) {
      out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
      hash.Update(chunk.data());
    }
    Status s = FromGrpcStatus(reader->Finish(), ref.blob());
    out.close();
    if (s.ok()) {
      if (hash.HexDigest() != sha)
        return DataLoss(ref.blob() + ": downloaded data does not match its sha256");
      fs::rename(tmp, path);
      return path.string();
    }
    if (!Transient(s.code()) || stopping_) return s;
    Backoff(attempt);
  }
}

StatusOr<std::string> LeaseClient::UploadArtifact(const std::string& token, const std::string& path,
                                                  v1::ArtifactKind kind) {
  // Streamed from disk a chunk at a time: an artifact can be larger than
  // the memory a worker should spend on it (a 135M-parameter student's F16
  // GGUF is about 270 MB).
  KDNAS_ASSIGN_OR_RETURN(std::string sha256, Sha256File(path));
  std::ifstream in(path, std::ios::binary);
  std::error_code size_error;
  const auto size = fs::file_size(path, size_error);
  if (!in || size_error) return NotFound("artifact '" + path + "': cannot read");
  v1::Artifact artifact;
  auto call = NewCall(600'000);
  auto writer = stub_->UploadArtifact(call.get(), &artifact);
  v1::UploadArtifactRequest first;
  first.mutable_metadata()->set_lease_token(token);
  first.mutable_metadata()->set_kind(kind);
  first.mutable_metadata()->set_size_bytes(static_cast<int64_t>(size));
  first.mutable_metadata()->set_sha256(sha256);
  bool ok = writer->Write(first);
  constexpr size_t kChunk = 1 << 20;
  std::string buffer(kChunk, '\0');
  while (ok && in) {
    in.read(buffer.data(), static_cast<std::streamsize>(kChunk));
    const auto got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    v1::UploadArtifactRequest chunk;
    chunk.set_chunk(buffer.data(), got);
    ok = writer->Write(chunk);
  }
  writer->WritesDone();
  KDNAS_RETURN_IF_ERROR(FromGrpcStatus(writer->Finish(), "UploadArtifact"));
  return artifact.name();
}

Status LeaseClient::Deliver(const std::string& entry) {
  const fs::path dir(entry);
  auto bytes = ReadFile((dir / kReportFile).string());
  if (!bytes.ok()) return Status::Ok();  // incomplete entry: nothing was finished
  v1::ReportResultRequest request;
  if (!request.ParseFromString(*bytes)) {
    fs::remove_all(dir);
    return Status::Ok();
  }
  auto named = ReadFile((dir / kTrialFile).string());  // absent in older spools
  const std::string trial = named.ok() ? *named : "";
  auto fields = [&](LogFields more) {
    more.insert(more.begin(), LogField("lease", request.lease_token()));
    return TrialFields(trial, options_.worker_id, std::move(more));
  };
  for (int attempt = 0;; ++attempt) {
    Status sent = Status::Ok();
    if (request.has_success()) {
      for (auto [file, kind] : {std::pair{kPackedFile, v1::ARTIFACT_KIND_PACKED},
                                std::pair{kShardFile, v1::ARTIFACT_KIND_TEACHER_SHARD},
                                std::pair{kTorchScriptFile, v1::ARTIFACT_KIND_TORCHSCRIPT},
                                std::pair{kHfFile, v1::ARTIFACT_KIND_HF},
                                std::pair{kGgufFile, v1::ARTIFACT_KIND_GGUF}}) {
        if (!sent.ok() || !fs::exists(dir / file)) continue;
        auto name = UploadArtifact(request.lease_token(), (dir / file).string(), kind);
        if (!name.ok()) {
          sent = name.status();
        } else if (kind == v1::ARTIFACT_KIND_PACKED || kind == v1::ARTIFACT_KIND_TEACHER_SHARD) {
          request.mutable_success()->set_artifact(*name);
        } else if (kind == v1::ARTIFACT_KIND_TORCHSCRIPT) {
          request.mutable_success()->set_torchscript_artifact(*name);
        } else if (kind == v1::ARTIFACT_KIND_HF) {
          request.mutable_success()->set_hf_artifact(*name);
        } else {
          request.mutable_success()->set_gguf_artifact(*name);
        }
      }
    }
    if (sent.ok()) {
      v1::ReportResultResponse response;
      auto call = NewCall(60'000);
      sent = FromGrpcStatus(stub_->ReportResult(call.get(), request, &response));
      if (sent.ok()) {
        LogInfo("delivered lease", fields({{"state", v1::TrialState_Name(response.trial_state())},
                                           {"duplicate", response.duplicate()}}));
      }
    }
    if (sent.ok() || !Transient(sent.code())) {
      // Delivered, or refused for good (the lease is gone): done either way.
      if (!sent.ok()) LogWarn("report refused", fields({{"reason", sent.message()}}));
      std::error_code ec;
      fs::remove_all(dir, ec);
      return Status::Ok();
    }
    if (stopping_) return Unavailable("controller unreachable; the report stays in " + entry);
    if (attempt == 0) {
      LogWarn("controller unreachable; the result is spooled, retrying",
              fields({{"reason", sent.message()}, {"spool", entry}}));
    }
    Backoff(attempt);
  }
}

Status LeaseClient::Report(const v1::Lease& lease, const ExecutionResult& result) {
  v1::ReportResultRequest request;
  request.set_lease_token(lease.token());
  const fs::path dir = fs::path(options_.cache_dir) / "spool" / lease.token();
  std::error_code ec;
  fs::create_directories(dir, ec);
  switch (result.kind) {
    case ExecutionResult::Kind::kSucceeded:
      *request.mutable_success()->mutable_metrics() = result.metrics;
      // The artifacts move into the spool entry with the report.
      if (!result.packed_path.empty()) fs::rename(result.packed_path, dir / kPackedFile, ec);
      if (!result.teacher_shard_path.empty())
        fs::rename(result.teacher_shard_path, dir / kShardFile, ec);
      if (!result.torchscript_path.empty())
        fs::rename(result.torchscript_path, dir / kTorchScriptFile, ec);
      if (!result.hf_path.empty()) fs::rename(result.hf_path, dir / kHfFile, ec);
      request.mutable_success()->set_hf_unavailable(result.hf_unavailable);
      if (!result.gguf_path.empty()) fs::rename(result.gguf_path, dir / kGgufFile, ec);
      request.mutable_success()->set_gguf_unavailable(result.gguf_unavailable);
      request.mutable_success()->set_gguf_tensor_types(result.gguf_tensor_types);
      request.mutable_success()->set_latency_measured_with(result.latency_measured_with);
      break;
    case ExecutionResult::Kind::kFailed:
      request.mutable_failure()->set_error(result.error);
      request.mutable_failure()->set_retryable(result.retryable);
      request.mutable_failure()->set_worker_seconds(result.worker_seconds);
      break;
    case ExecutionResult::Kind::kStopped:
      *request.mutable_stopped()->mutable_progress() = result.progress;
      request.mutable_stopped()->set_worker_seconds(result.worker_seconds);
      break;
  }
  (void)WriteFileAtomically(dir / kTrialFile, LeaseName(lease));  // for the log only
  // The report file is written last: its presence marks a complete entry.
  KDNAS_RETURN_IF_ERROR(WriteFileAtomically(dir / kReportFile, request.SerializeAsString()));
  return Deliver(dir.string());
}

StatusOr<int> LeaseClient::FlushSpool() {
  int delivered = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(options_.cache_dir) / "spool", ec)) {
    if (!entry.is_directory()) continue;
    KDNAS_RETURN_IF_ERROR(Deliver(entry.path().string()));
    ++delivered;
  }
  return delivered;
}

StatusOr<int64_t> LeaseClient::Run(TrialExecutor& executor) {
  if (auto flushed = FlushSpool(); flushed.ok() && *flushed > 0) {
    LogInfo("delivered spooled reports", {{"worker", options_.worker_id}, {"count", *flushed}});
  }
  int64_t trials = 0, idle = 0;
  int attempt = 0;
  while (!stopping_ && (options_.max_trials == 0 || trials < options_.max_trials)) {
    v1::LeaseTrialRequest request;
    request.set_worker_id(options_.worker_id);
    request.set_hostname(hostname_);
    request.set_threads(options_.threads);
    request.set_wait_ms(options_.wait_ms);
    v1::LeaseTrialResponse response;
    auto call = NewCall(options_.wait_ms + 10'000);
    Status s = FromGrpcStatus(stub_->LeaseTrial(call.get(), request, &response), "LeaseTrial");
    if (!s.ok()) {
      if (!Transient(s.code())) return s;
      Backoff(attempt++);
      continue;
    }
    attempt = 0;
    if (!response.has_lease()) {
      if (options_.max_idle_polls > 0 && ++idle >= options_.max_idle_polls) break;
      continue;
    }
    idle = 0;
    const v1::Lease& lease = response.lease();
    const std::string& trial = LeaseName(lease);
    const bool shard = lease.has_teacher_shard();
    LogInfo(shard ? "running teacher shard" : "running trial",
            TrialFields(trial, options_.worker_id, {{"attempt", lease.trial().attempts()}}));
    const fs::path scratch = fs::path(options_.cache_dir) / "scratch" / lease.token();
    fs::create_directories(scratch);
    ExecutionResult result;
    bool lost = false, stopped_by_controller = false;
    {
      Context context(this, lease, scratch.string());
      result = executor.Run(lease, context);
      lost = context.lost();
      stopped_by_controller = context.stopped_by_controller();
    }
    if (!lost && result.kind == ExecutionResult::Kind::kStopped && !stopped_by_controller) {
      // Our own shutdown stopped it: give the trial back to be run again.
      result = ExecutionResult::Failure(Unavailable("the worker shut down"), result.worker_seconds);
    }
    if (lost) {
      LogWarn("trial lost its lease", TrialFields(trial, options_.worker_id));
    } else if (result.kind == ExecutionResult::Kind::kFailed) {
      LogWarn("trial failed",
              TrialFields(trial, options_.worker_id,
                          {{"retryable", result.retryable}, {"reason", result.error}}));
    } else {
      LogInfo(
          result.kind == ExecutionResult::Kind::kSucceeded ? "trial succeeded" : "trial stopped",
          TrialFields(trial, options_.worker_id,
                      {{"worker_seconds", result.kind == ExecutionResult::Kind::kSucceeded
                                              ? result.metrics.worker_seconds()
                                              : result.worker_seconds}}));
    }
    if (!lost) {
      Status reported = Report(lease, result);
      if (!reported.ok()) {
        LogError("cannot report",
                 TrialFields(trial, options_.worker_id, {{"reason", reported.message()}}));
      }
    }
    std::error_code ec;
    fs::remove_all(scratch, ec);
    if (!shard) ++trials;  // max_trials counts trials, not teacher shards
  }
  return trials;
}

}  // namespace kdnas
