// Reactors of the streaming RPCs: watching a job, downloading a file,
// uploading a blob or an artifact. Each deletes itself in OnDone.
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <fstream>
#include <memory>
#include <mutex>

#include "kdnas/v1/search_service.grpc.pb.h"
#include "kdnas/v1/worker_service.grpc.pb.h"
#include "server/blob_store.h"
#include "server/job_manager.h"
#include "server/rpc_util.h"

namespace kdnas {

// WatchJob: stored events from the requested sequence (read from the store in
// pages as the client keeps up), then live ones. A client that falls more
// than kMaxQueued events behind gets a Resync event instead of unbounded
// memory. Ends after the job's final JobStateChanged.
class WatchReactor : public grpc::ServerWriteReactor<v1::JobEvent> {
 public:
  static constexpr size_t kMaxQueued = 1024;
  static constexpr int64_t kPage = 512;

  WatchReactor(grpc::CallbackServerContext* context, const v1::WatchJobRequest& request,
               JobManager* manager, const Status& allowed, RpcObserver* observer);
  void OnWriteDone(bool ok) override;
  void OnDone() override;
  void OnCancel() override;

 private:
  class Sink;
  void CatchUp();                           // reads the next page of stored events, or subscribes
  void Enqueue(const v1::JobEvent& event);  // from the core's strand
  void Subscribed(const StatusOr<int64_t>& id);  // from the core's strand, via the sink
  void WriteNextLocked();
  void FinishLocked(const grpc::Status& status);

  JobManager* manager_;
  v1::WatchJobRequest request_;
  RpcTimer timer_;
  std::shared_ptr<Sink> sink_;
  std::mutex mu_;
  std::deque<v1::JobEvent> queue_;
  v1::JobEvent current_;
  bool writing_ = false;
  bool finished_ = false;
  bool live_ = false;
  bool ended_ = false;  // the final JobStateChanged is queued
  bool resyncing_ = false;
  int64_t last_sequence_ = 0;  // of the last stored event sent or queued
  int64_t subscription_ = 0;
};

// Streams a file in chunks of at most 1 MiB.
class FileReadReactor : public grpc::ServerWriteReactor<v1::DataChunk> {
 public:
  FileReadReactor(const std::string& path, int64_t offset, const Status& allowed, RpcTimer timer);
  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  void Next();
  std::ifstream in_;
  std::string sha256_;
  int64_t offset_ = 0;
  int64_t total_ = 0;
  v1::DataChunk chunk_;
  RpcTimer timer_;
};

// The shared half of UploadBlob and UploadArtifact: the first message
// carries metadata, the rest data; the file is verified (size, sha256) and
// stored content-addressed, then recorded. Subclasses check the metadata and
// record the result.
template <typename Request, typename Response>
class UploadReactor : public grpc::ServerReadReactor<Request> {
 public:
  using Metadata = typename Request::Metadata;
  void OnDone() override { delete this; }

 protected:
  UploadReactor(const char* rpc, BlobStore* blobs, Response* response, RpcTimer timer)
      : rpc_(rpc), blobs_(blobs), response_(response), timer_(timer) {}
  // Starts reading, or fails at once when the caller is not allowed.
  void Begin(const Status& allowed) {
    if (!allowed.ok()) return Fail(allowed);
    this->StartRead(&request_);
  }
  // The metadata arrived: call Accept or Fail (possibly later, from a callback).
  virtual void OnMetadata() = 0;
  // The data is stored as `name`: call Succeed or Fail.
  virtual void OnStored(const std::string& name) = 0;
  void Accept(const char* collection) {
    auto upload = blobs_->StartUpload(collection, metadata_.sha256(), metadata_.size_bytes());
    if (!upload.ok()) return Fail(upload.status());
    upload_ = std::move(*upload);
    this->StartRead(&request_);
  }
  void Succeed(Response response) {
    *response_ = std::move(response);
    timer_.Done(grpc::StatusCode::OK);
    this->Finish(grpc::Status::OK);
  }
  void Fail(const Status& status) {
    grpc::Status s = ToGrpcStatus(status);
    timer_.Done(s.error_code());
    this->Finish(s);
  }
  Metadata metadata_;

 private:
  void OnReadDone(bool ok) override {
    const std::string rpc = rpc_;
    if (!ok) {  // the client is done sending
      if (!upload_) return Fail(InvalidArgument(rpc + ": the first message must carry metadata"));
      auto name = upload_->Finish();
      if (!name.ok()) return Fail(name.status());
      return OnStored(*name);
    }
    if (!upload_) {
      if (!request_.has_metadata())
        return Fail(InvalidArgument(rpc + ": the first message must carry metadata"));
      metadata_ = request_.metadata();
      return OnMetadata();
    }
    if (!request_.has_chunk())
      return Fail(InvalidArgument(rpc + ": only the first message carries metadata"));
    if (Status s = upload_->Write(request_.chunk()); !s.ok()) return Fail(s);
    this->StartRead(&request_);
  }

  const char* rpc_;
  BlobStore* blobs_;
  Response* response_;
  RpcTimer timer_;
  Request request_;
  std::unique_ptr<BlobStore::Upload> upload_;
};

// UploadBlob: datasets and teachers from users.
class UploadBlobReactor : public UploadReactor<v1::UploadBlobRequest, v1::Blob> {
 public:
  UploadBlobReactor(JobManager* manager, BlobStore* blobs, v1::Blob* response,
                    const Status& allowed, RpcTimer timer);

 private:
  void OnMetadata() override;
  void OnStored(const std::string& name) override;
  JobManager* manager_;
};

// UploadArtifact: a student's files, from the holder of a live lease.
class UploadArtifactReactor : public UploadReactor<v1::UploadArtifactRequest, v1::Artifact> {
 public:
  UploadArtifactReactor(JobManager* manager, BlobStore* blobs, v1::Artifact* response,
                        const Status& allowed, RpcTimer timer);

 private:
  void OnMetadata() override;
  void OnStored(const std::string& name) override;
  JobManager* manager_;
};

}  // namespace kdnas
