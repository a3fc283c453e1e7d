// Uploads a local file or directory as a blob (content-addressed by sha256)
// and downloads artifacts to local files.
#pragma once

#include <string>

#include "kdnas/v1/search_service.grpc.pb.h"
#include "server/cli/cli_context.h"

namespace kdnas::cli {

// `filename` is what the blob's metadata records (default: path's name).
StatusOr<kdnas::v1::Blob> UploadBlobFile(kdnas::v1::SearchService::Stub* stub,
                                         const CliContext& ctx, const std::string& path,
                                         kdnas::v1::BlobKind kind,
                                         const std::string& filename = "");

// A file as UploadBlobFile does; a directory (a Hugging Face checkpoint) as
// one blob, the uncompressed tar formats/tar_archive.h's WriteTar packs (its
// top-level regular files sorted by name, no times or owners, so the same
// directory gives the same blob), written to a temporary file under
// $TMPDIR (removed after the upload) and named "<directory>.tar".
// INVALID_ARGUMENT for a directory with anything but regular files in it.
StatusOr<kdnas::v1::Blob> UploadBlobPath(kdnas::v1::SearchService::Stub* stub,
                                         const CliContext& ctx, const std::string& path,
                                         kdnas::v1::BlobKind kind);

// Streams "artifacts/{sha256}" into `path` (written to a temporary file, the
// checksum verified, then renamed, so a failed download leaves nothing).
Status DownloadArtifactFile(kdnas::v1::SearchService::Stub* stub, const CliContext& ctx,
                            const std::string& artifact, const std::string& path);

}  // namespace kdnas::cli
