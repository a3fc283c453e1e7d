// Uploads a local file as a blob (content-addressed by sha256) and downloads
// artifacts to local files.
#pragma once

#include <string>

#include "kdnas/v1/search_service.grpc.pb.h"
#include "server/cli/cli_context.h"

namespace kdnas::cli {

StatusOr<kdnas::v1::Blob> UploadBlobFile(kdnas::v1::SearchService::Stub* stub,
                                         const CliContext& ctx, const std::string& path,
                                         kdnas::v1::BlobKind kind);

// Streams "artifacts/{sha256}" into `path` (written to a temporary file, the
// checksum verified, then renamed, so a failed download leaves nothing).
Status DownloadArtifactFile(kdnas::v1::SearchService::Stub* stub, const CliContext& ctx,
                            const std::string& artifact, const std::string& path);

}  // namespace kdnas::cli
