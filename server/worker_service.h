// kdnas.v1.WorkerService on the gRPC callback API, for the worker role.
#pragma once

#include "kdnas/v1/worker_service.grpc.pb.h"
#include "server/admission.h"
#include "server/blob_store.h"
#include "server/job_manager.h"
#include "server/rpc_util.h"

namespace kdnas {

class WorkerServiceImpl final : public v1::WorkerService::CallbackService {
 public:
  WorkerServiceImpl(JobManager* manager, BlobStore* blobs, const Admission* admission, RpcObserver* observer)
      : manager_(manager), blobs_(blobs), admission_(admission), observer_(observer) {}

  grpc::ServerUnaryReactor* LeaseTrial(grpc::CallbackServerContext* c, const v1::LeaseTrialRequest* request,
                                       v1::LeaseTrialResponse* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* c, const v1::HeartbeatRequest* request,
                                      v1::HeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* ReportResult(grpc::CallbackServerContext* c, const v1::ReportResultRequest* request,
                                         v1::ReportResultResponse* response) override;
  grpc::ServerReadReactor<v1::UploadArtifactRequest>* UploadArtifact(grpc::CallbackServerContext* c,
                                                                      v1::Artifact* response) override;
  grpc::ServerWriteReactor<v1::DataChunk>* DownloadBlob(grpc::CallbackServerContext* c,
                                                        const v1::DownloadBlobRequest* request) override;

 private:
  JobManager* manager_;
  BlobStore* blobs_;
  const Admission* admission_;
  RpcObserver* observer_;
};

}  // namespace kdnas
