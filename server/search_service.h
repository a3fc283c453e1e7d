// kdnas.v1.SearchService on the gRPC callback API: each RPC checks the
// caller's permission, hands the request to the JobManager and finishes when
// it answers. Streams (WatchJob, DownloadArtifact, UploadBlob) have a
// reactor each, in server/streams.h.
#pragma once

#include "kdnas/v1/search_service.grpc.pb.h"
#include "server/admission.h"
#include "server/blob_store.h"
#include "server/job_manager.h"
#include "server/rpc_util.h"

namespace kdnas {

class SearchServiceImpl final : public v1::SearchService::CallbackService {
 public:
  SearchServiceImpl(JobManager* manager, BlobStore* blobs, const Admission* admission, RpcObserver* observer)
      : manager_(manager), blobs_(blobs), admission_(admission), observer_(observer) {}

  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext* c, const v1::SubmitJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* c, const v1::GetJobRequest* request,
                                   v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* c, const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* c, const v1::CancelJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerWriteReactor<v1::JobEvent>* WatchJob(grpc::CallbackServerContext* c,
                                                   const v1::WatchJobRequest* request) override;
  grpc::ServerUnaryReactor* ListTrials(grpc::CallbackServerContext* c, const v1::ListTrialsRequest* request,
                                       v1::ListTrialsResponse* response) override;
  grpc::ServerUnaryReactor* GetFrontier(grpc::CallbackServerContext* c, const v1::GetFrontierRequest* request,
                                        v1::Frontier* response) override;
  grpc::ServerUnaryReactor* GetBest(grpc::CallbackServerContext* c, const v1::GetBestRequest* request,
                                    v1::Trial* response) override;
  grpc::ServerWriteReactor<v1::DataChunk>* DownloadArtifact(grpc::CallbackServerContext* c,
                                                            const v1::DownloadArtifactRequest* request) override;
  grpc::ServerReadReactor<v1::UploadBlobRequest>* UploadBlob(grpc::CallbackServerContext* c,
                                                              v1::Blob* response) override;
  grpc::ServerUnaryReactor* GetBlob(grpc::CallbackServerContext* c, const v1::GetBlobRequest* request,
                                    v1::Blob* response) override;
  grpc::ServerUnaryReactor* ListWorkers(grpc::CallbackServerContext* c, const v1::ListWorkersRequest* request,
                                        v1::ListWorkersResponse* response) override;
  grpc::ServerUnaryReactor* ExplainJob(grpc::CallbackServerContext* c, const v1::ExplainJobRequest* request,
                                       v1::Explanation* response) override;

 private:
  JobManager* manager_;
  BlobStore* blobs_;
  const Admission* admission_;
  RpcObserver* observer_;
};

}  // namespace kdnas
