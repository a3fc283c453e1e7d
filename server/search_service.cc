#include "server/search_service.h"

#include "server/streams.h"

namespace kdnas {

#define KDNAS_UNARY(method, permission)                                        \
  RpcTimer timer(observer_, method);                                           \
  if (Status s = admission_->Admit(*c, permission); !s.ok()) return FailUnary(c, s, timer); \
  auto* reactor = c->DefaultReactor()

grpc::ServerUnaryReactor* SearchServiceImpl::SubmitJob(grpc::CallbackServerContext* c,
                                                       const v1::SubmitJobRequest* request, v1::Job* response) {
  KDNAS_UNARY("SubmitJob", Permission::kSubmit);
  manager_->SubmitJob(*request, FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerUnaryReactor* SearchServiceImpl::GetJob(grpc::CallbackServerContext* c, const v1::GetJobRequest* request,
                                                    v1::Job* response) {
  KDNAS_UNARY("GetJob", Permission::kRead);
  manager_->GetJob(request->name(), FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerUnaryReactor* SearchServiceImpl::ListJobs(grpc::CallbackServerContext* c,
                                                      const v1::ListJobsRequest* request,
                                                      v1::ListJobsResponse* response) {
  KDNAS_UNARY("ListJobs", Permission::kRead);
  manager_->ListJobs(*request, FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerUnaryReactor* SearchServiceImpl::CancelJob(grpc::CallbackServerContext* c,
                                                       const v1::CancelJobRequest* request, v1::Job* response) {
  KDNAS_UNARY("CancelJob", Permission::kSubmit);
  manager_->CancelJob(request->name(), FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerUnaryReactor* SearchServiceImpl::ListTrials(grpc::CallbackServerContext* c,
                                                        const v1::ListTrialsRequest* request,
                                                        v1::ListTrialsResponse* response) {
  KDNAS_UNARY("ListTrials", Permission::kRead);
  manager_->ListTrials(*request, FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerUnaryReactor* SearchServiceImpl::GetFrontier(grpc::CallbackServerContext* c,
                                                         const v1::GetFrontierRequest* request,
                                                         v1::Frontier* response) {
  KDNAS_UNARY("GetFrontier", Permission::kRead);
  manager_->GetFrontier(request->name(), FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerUnaryReactor* SearchServiceImpl::GetBest(grpc::CallbackServerContext* c, const v1::GetBestRequest* request,
                                                     v1::Trial* response) {
  KDNAS_UNARY("GetBest", Permission::kRead);
  manager_->GetBest(*request, FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerUnaryReactor* SearchServiceImpl::GetBlob(grpc::CallbackServerContext* c, const v1::GetBlobRequest* request,
                                                     v1::Blob* response) {
  KDNAS_UNARY("GetBlob", Permission::kRead);
  manager_->GetBlob(request->name(), FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerUnaryReactor* SearchServiceImpl::ListWorkers(grpc::CallbackServerContext* c,
                                                         const v1::ListWorkersRequest*,
                                                         v1::ListWorkersResponse* response) {
  KDNAS_UNARY("ListWorkers", Permission::kRead);
  manager_->ListWorkers(FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerUnaryReactor* SearchServiceImpl::ExplainJob(grpc::CallbackServerContext* c,
                                                        const v1::ExplainJobRequest* request,
                                                        v1::Explanation* response) {
  KDNAS_UNARY("ExplainJob", Permission::kRead);
  manager_->ExplainJob(request->name(), FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerWriteReactor<v1::JobEvent>* SearchServiceImpl::WatchJob(grpc::CallbackServerContext* c,
                                                                    const v1::WatchJobRequest* request) {
  return new WatchReactor(c, *request, manager_, admission_->Admit(*c, Permission::kRead), observer_);
}

grpc::ServerWriteReactor<v1::DataChunk>* SearchServiceImpl::DownloadArtifact(
    grpc::CallbackServerContext* c, const v1::DownloadArtifactRequest* request) {
  Status allowed = admission_->Admit(*c, Permission::kRead);
  std::string path;
  if (allowed.ok()) {
    if (request->name().rfind("artifacts/", 0) != 0) {
      allowed = InvalidArgument("name: \"" + request->name().substr(0, 100) + "\" is not artifacts/<sha256>");
    } else {
      auto p = blobs_->PathOf(request->name());
      allowed = p.status();
      if (p.ok()) path = *p;
    }
  }
  return new FileReadReactor(path, 0, allowed, RpcTimer(observer_, "DownloadArtifact"));
}

grpc::ServerReadReactor<v1::UploadBlobRequest>* SearchServiceImpl::UploadBlob(grpc::CallbackServerContext* c,
                                                                               v1::Blob* response) {
  return new UploadBlobReactor(manager_, blobs_, response, admission_->Admit(*c, Permission::kSubmit),
                               RpcTimer(observer_, "UploadBlob"));
}

}  // namespace kdnas
