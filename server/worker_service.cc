#include "server/worker_service.h"

#include "server/streams.h"

namespace kdnas {

#define KDNAS_WORKER_UNARY(method)                                                                 \
  RpcTimer timer(observer_, method);                                                               \
  if (Status s = admission_->Admit(*c, Permission::kWork); !s.ok()) return FailUnary(c, s, timer); \
  auto* reactor = c->DefaultReactor()

grpc::ServerUnaryReactor* WorkerServiceImpl::LeaseTrial(grpc::CallbackServerContext* c,
                                                        const v1::LeaseTrialRequest* request,
                                                        v1::LeaseTrialResponse* response) {
  KDNAS_WORKER_UNARY("LeaseTrial");
  manager_->LeaseTrial(*request, FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::Heartbeat(grpc::CallbackServerContext* c,
                                                       const v1::HeartbeatRequest* request,
                                                       v1::HeartbeatResponse* response) {
  KDNAS_WORKER_UNARY("Heartbeat");
  manager_->Heartbeat(*request, FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::ReportResult(grpc::CallbackServerContext* c,
                                                          const v1::ReportResultRequest* request,
                                                          v1::ReportResultResponse* response) {
  KDNAS_WORKER_UNARY("ReportResult");
  manager_->ReportResult(*request, FinishUnary(reactor, response, timer));
  return reactor;
}

grpc::ServerReadReactor<v1::UploadArtifactRequest>* WorkerServiceImpl::UploadArtifact(
    grpc::CallbackServerContext* c, v1::Artifact* response) {
  return new UploadArtifactReactor(manager_, blobs_, response,
                                   admission_->Admit(*c, Permission::kWork),
                                   RpcTimer(observer_, "UploadArtifact"));
}

grpc::ServerWriteReactor<v1::DataChunk>* WorkerServiceImpl::DownloadBlob(
    grpc::CallbackServerContext* c, const v1::DownloadBlobRequest* request) {
  Status allowed = admission_->Admit(*c, Permission::kWork);
  std::string path;
  if (allowed.ok()) {
    if (request->name().rfind("blobs/", 0) != 0 && request->name().rfind("artifacts/", 0) != 0) {
      allowed = InvalidArgument("name: \"" + request->name().substr(0, 100) +
                                "\" is not blobs/<sha256> or artifacts/<sha256>");
    } else {
      auto p = blobs_->PathOf(request->name());
      allowed = p.status();
      if (p.ok()) path = *p;
    }
  }
  return new FileReadReactor(path, request->offset(), allowed, RpcTimer(observer_, "DownloadBlob"));
}

}  // namespace kdnas
