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

  WatchReactor(grpc::CallbackServerContext* context, const v1::WatchJobRequest& request, JobManager* manager,
               const Status& allowed, RpcObserver* observer);
  void OnWriteDone(bool ok) override;
  void OnDone() override;
  void OnCancel() override;

 private:
  class Sink;
  void CatchUp();           // reads the next page of stored events, or subscribes
  void Enqueue(const v1::JobEvent& event);  // from the core's strand
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
  bool ended_ = false;       // the final JobStateChanged is queued
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

// UploadBlob: metadata, then chunks; the blob is recorded once verified.
class UploadBlobReactor : public grpc::ServerReadReactor<v1::UploadBlobRequest> {
 public:
  UploadBlobReactor(JobManager* manager, BlobStore* blobs, v1::Blob* response, const Status& allowed, RpcTimer timer);
  void OnReadDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  void Fail(const Status& status);
  JobManager* manager_;
  BlobStore* blobs_;
  v1::Blob* response_;
  RpcTimer timer_;
  v1::UploadBlobRequest request_;
  v1::UploadBlobRequest::Metadata metadata_;
  std::unique_ptr<BlobStore::Upload> upload_;
};

// UploadArtifact: like UploadBlob, for the holder of a live lease.
class UploadArtifactReactor : public grpc::ServerReadReactor<v1::UploadArtifactRequest> {
 public:
  UploadArtifactReactor(JobManager* manager, BlobStore* blobs, v1::Artifact* response, const Status& allowed,
                        RpcTimer timer);
  void OnReadDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  void Fail(const Status& status);
  JobManager* manager_;
  BlobStore* blobs_;
  v1::Artifact* response_;
  RpcTimer timer_;
  v1::UploadArtifactRequest request_;
  v1::UploadArtifactRequest::Metadata metadata_;
  std::unique_ptr<BlobStore::Upload> upload_;
};

}  // namespace kdnas
