#include "server/streams.h"

#include <filesystem>

namespace kdnas {

namespace {

bool IsFinalJobEvent(const v1::JobEvent& e) {
  if (!e.has_job_state_changed()) return false;
  auto s = e.job_state_changed().state();
  return s == v1::JOB_STATE_SUCCEEDED || s == v1::JOB_STATE_FAILED || s == v1::JOB_STATE_CANCELLED;
}

}  // namespace

// ------------------------------------------------------------------ WatchJob

// Forwards the core's events to a live reactor; outlives it safely.
class WatchReactor::Sink : public EventSink {
 public:
  explicit Sink(WatchReactor* reactor) : reactor_(reactor) {}
  void OnEvent(const v1::JobEvent& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (reactor_ != nullptr) reactor_->Enqueue(event);
  }
  // The subscription's id, which may arrive after the call ended: then the
  // subscription is dropped here, since the reactor is gone.
  void OnSubscribed(const StatusOr<int64_t>& id, JobManager* manager) {
    std::lock_guard<std::mutex> lock(mu_);
    if (reactor_ != nullptr) {
      reactor_->Subscribed(id);
    } else if (id.ok()) {
      manager->Unsubscribe(*id);
    }
  }
  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    reactor_ = nullptr;
  }

 private:
  std::mutex mu_;
  WatchReactor* reactor_;
};

WatchReactor::WatchReactor(grpc::CallbackServerContext*, const v1::WatchJobRequest& request,
                           JobManager* manager, const Status& allowed, RpcObserver* observer)
    : manager_(manager),
      request_(request),
      timer_(observer, "WatchJob"),
      sink_(std::make_shared<Sink>(this)) {
  if (!allowed.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(ToGrpcStatus(allowed));
    return;
  }
  if (request.after_sequence() < 0) {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(ToGrpcStatus(InvalidArgument("after_sequence: must be >= 0")));
    return;
  }
  last_sequence_ = request.after_sequence();
  CatchUp();
}

void WatchReactor::CatchUp() {
  auto page = manager_->ReadEvents(request_.name(), last_sequence_, kPage);
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  if (!page.ok()) return FinishLocked(ToGrpcStatus(page.status()));
  for (auto& e : *page) {
    last_sequence_ = e.sequence();
    if (IsFinalJobEvent(e)) ended_ = true;
    queue_.push_back(std::move(e));
  }
  if (static_cast<int64_t>(page->size()) == kPage) {
    WriteNextLocked();  // more stored events: read them once these are written
    return;
  }
  live_ = true;
  // The reactor may be deleted before the core answers: only the sink,
  // which outlives it, is captured.
  manager_->Subscribe(request_.name(), last_sequence_, request_.include_progress(), sink_,
                      [sink = sink_, manager = manager_](StatusOr<int64_t> id) {
                        sink->OnSubscribed(id, manager);
                      });
  WriteNextLocked();
}

void WatchReactor::Subscribed(const StatusOr<int64_t>& id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!id.ok()) return FinishLocked(ToGrpcStatus(id.status()));
  subscription_ = *id;
  WriteNextLocked();
}

void WatchReactor::Enqueue(const v1::JobEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_ || ended_) return;
  // Stored events already sent (read from the store before subscribing).
  if (!event.has_trial_progressed() && event.sequence() <= last_sequence_) return;
  if (!event.has_trial_progressed()) last_sequence_ = event.sequence();
  if (queue_.size() >= kMaxQueued) {
    if (event.has_trial_progressed()) return;  // progress is droppable
    // Too far behind: drop the backlog, tell the client to re-read.
    queue_.clear();
    resyncing_ = true;
    v1::JobEvent resync;
    resync.set_sequence(event.sequence());
    resync.set_job(event.job());
    resync.mutable_resync()->mutable_job()->set_name(event.job());
    queue_.push_back(std::move(resync));
  }
  if (IsFinalJobEvent(event)) ended_ = true;
  queue_.push_back(event);
  WriteNextLocked();
}

void WatchReactor::WriteNextLocked() {
  if (writing_ || finished_) return;
  if (queue_.empty()) {
    if (ended_) FinishLocked(grpc::Status::OK);
    return;
  }
  current_ = std::move(queue_.front());
  queue_.pop_front();
  writing_ = true;
  StartWrite(&current_);
}

void WatchReactor::OnWriteDone(bool ok) {
  bool catch_up = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) return FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
    catch_up = !live_ && queue_.empty();
    if (!catch_up) WriteNextLocked();
  }
  if (catch_up) CatchUp();
}

void WatchReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
}

void WatchReactor::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  timer_.Done(status.error_code());
  Finish(status);
}

void WatchReactor::OnDone() {
  sink_->Detach();
  int64_t subscription;
  {
    std::lock_guard<std::mutex> lock(mu_);
    subscription = subscription_;
  }
  if (subscription != 0) manager_->Unsubscribe(subscription);
  delete this;
}

// ------------------------------------------------------------------ downloads

FileReadReactor::FileReadReactor(const std::string& path, int64_t offset, const Status& allowed,
                                 RpcTimer timer)
    : offset_(offset), timer_(timer) {
  if (!allowed.ok()) {
    grpc::Status s = ToGrpcStatus(allowed);
    timer_.Done(s.error_code());
    Finish(s);
    return;
  }
  std::error_code ec;
  total_ = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  sha256_ = std::filesystem::path(path).filename().string();
  in_.open(path, std::ios::binary);
  if (ec || !in_ || offset < 0 || offset > total_) {
    grpc::Status s(ec || !in_ ? grpc::StatusCode::NOT_FOUND : grpc::StatusCode::OUT_OF_RANGE,
                   ec || !in_ ? "cannot read the file" : "offset: beyond the end of the file");
    timer_.Done(s.error_code());
    Finish(s);
    return;
  }
  in_.seekg(offset);
  Next();
}

void FileReadReactor::Next() {
  constexpr int64_t kChunk = 1 << 20;
  if (offset_ >= total_ && !(total_ == 0 && chunk_.sha256().empty())) {
    timer_.Done(grpc::StatusCode::OK);
    Finish(grpc::Status::OK);
    return;
  }
  std::string data(static_cast<size_t>(std::min(kChunk, total_ - offset_)), '\0');
  in_.read(data.data(), static_cast<std::streamsize>(data.size()));
  chunk_.Clear();
  chunk_.set_offset(offset_);
  chunk_.set_total_size_bytes(total_);
  if (offset_ == 0) chunk_.set_sha256(sha256_);
  chunk_.set_data(std::move(data));
  offset_ += static_cast<int64_t>(chunk_.data().size());
  if (total_ == 0) offset_ = 1;  // an empty file: one empty chunk, then done
  StartWrite(&chunk_);
}

void FileReadReactor::OnWriteDone(bool ok) {
  if (!ok) {
    timer_.Done(grpc::StatusCode::CANCELLED);
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
    return;
  }
  Next();
}

// ------------------------------------------------------------------ uploads

UploadBlobReactor::UploadBlobReactor(JobManager* manager, BlobStore* blobs, v1::Blob* response,
                                     const Status& allowed, RpcTimer timer)
    : UploadReactor("UploadBlob", blobs, response, timer), manager_(manager) {
  Begin(allowed);
}

void UploadBlobReactor::OnMetadata() {
  if (metadata_.filename().size() > 256)
    return Fail(InvalidArgument("metadata.filename: at most 256 characters"));
  Accept("blobs");
}

void UploadBlobReactor::OnStored(const std::string& name) {
  v1::Blob blob;
  blob.set_name(name);
  blob.set_kind(metadata_.kind());
  blob.set_filename(metadata_.filename());
  blob.set_size_bytes(metadata_.size_bytes());
  blob.set_sha256(metadata_.sha256());
  manager_->RecordBlob(blob, [this](StatusOr<v1::Blob> recorded) {
    if (!recorded.ok()) return Fail(recorded.status());
    Succeed(*recorded);
  });
}

UploadArtifactReactor::UploadArtifactReactor(JobManager* manager, BlobStore* blobs,
                                             v1::Artifact* response, const Status& allowed,
                                             RpcTimer timer)
    : UploadReactor("UploadArtifact", blobs, response, timer), manager_(manager) {
  Begin(allowed);
}

void UploadArtifactReactor::OnMetadata() {
  if (metadata_.kind() == v1::ARTIFACT_KIND_UNSPECIFIED)
    return Fail(InvalidArgument("metadata.kind: required"));
  // Only the holder of a live lease may upload.
  manager_->CheckLease(metadata_.lease_token(), [this](StatusOr<bool> live) {
    if (!live.ok()) return Fail(live.status());
    Accept("artifacts");
  });
}

void UploadArtifactReactor::OnStored(const std::string& name) {
  v1::Artifact artifact;
  artifact.set_name(name);
  artifact.set_kind(metadata_.kind());
  artifact.set_size_bytes(metadata_.size_bytes());
  artifact.set_sha256(metadata_.sha256());
  manager_->RecordArtifact(metadata_.lease_token(), artifact,
                           [this](StatusOr<v1::Artifact> recorded) {
                             if (!recorded.ok()) return Fail(recorded.status());
                             Succeed(*recorded);
                           });
}

}  // namespace kdnas
