#include "server/cli/blob_upload.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "formats/tar_archive.h"
#include "search/sha256.h"

namespace kdnas::cli {

namespace fs = std::filesystem;

StatusOr<kdnas::v1::Blob> UploadBlobFile(kdnas::v1::SearchService::Stub* stub,
                                         const CliContext& ctx, const std::string& path,
                                         kdnas::v1::BlobKind kind, const std::string& filename) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return NotFound(path + ": " + ec.message());
  KDNAS_ASSIGN_OR_RETURN(std::string sha, Sha256File(path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open file");

  kdnas::v1::Blob blob;
  auto call = ctx.NewCall(/*streaming=*/true);
  auto writer = stub->UploadBlob(call.get(), &blob);
  kdnas::v1::UploadBlobRequest first;
  first.mutable_metadata()->set_kind(kind);
  first.mutable_metadata()->set_filename(filename.empty() ? fs::path(path).filename().string()
                                                          : filename);
  first.mutable_metadata()->set_size_bytes(static_cast<int64_t>(size));
  first.mutable_metadata()->set_sha256(sha);
  bool ok = writer->Write(first);
  std::vector<char> buf(1 << 20);
  while (ok && in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() <= 0) break;
    kdnas::v1::UploadBlobRequest chunk;
    chunk.set_chunk(buf.data(), static_cast<size_t>(in.gcount()));
    ok = writer->Write(chunk);
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return ctx.CallError(status);
  return blob;
}

StatusOr<kdnas::v1::Blob> UploadBlobPath(kdnas::v1::SearchService::Stub* stub,
                                         const CliContext& ctx, const std::string& path,
                                         kdnas::v1::BlobKind kind) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return UploadBlobFile(stub, ctx, path, kind);
  std::string tar = (fs::temp_directory_path(ec) / "kdnas-upload-XXXXXX").string();
  const int fd = ::mkstemp(tar.data());
  if (fd < 0) return Internal(tar + ": cannot create a temporary file");
  ::close(fd);
  struct Cleanup {
    const std::string& path;
    ~Cleanup() { std::remove(path.c_str()); }
  } cleanup{tar};
  KDNAS_RETURN_IF_ERROR(WriteTar(path, tar));
  const fs::path dir = fs::absolute(path, ec).lexically_normal();
  std::string name = (dir.has_filename() ? dir.filename() : dir.parent_path().filename()).string();
  return UploadBlobFile(stub, ctx, tar, kind, name + ".tar");
}

Status DownloadArtifactFile(kdnas::v1::SearchService::Stub* stub, const CliContext& ctx,
                            const std::string& artifact, const std::string& path) {
  std::string tmp = path + ".part";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return InvalidArgument(path + ": cannot write file");
  kdnas::v1::DownloadArtifactRequest request;
  request.set_name(artifact);
  auto call = ctx.NewCall(/*streaming=*/true);
  auto reader = stub->DownloadArtifact(call.get(), request);
  kdnas::v1::DataChunk chunk;
  Sha256 hash;
  std::string expected;
  int64_t written = 0;
  int64_t total = -1;
  while (reader->Read(&chunk)) {
    if (!chunk.sha256().empty()) expected = chunk.sha256();
    total = chunk.total_size_bytes();
    out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    hash.Update(chunk.data());
    written += static_cast<int64_t>(chunk.data().size());
  }
  grpc::Status status = reader->Finish();
  out.close();
  auto fail = [&](Status s) {
    std::remove(tmp.c_str());
    return s;
  };
  if (!status.ok()) return fail(ctx.CallError(status));
  if (!out) return fail(DataLoss(path + ": write failed"));
  if (total >= 0 && written != total) {
    return fail(DataLoss(artifact + ": got " + std::to_string(written) + " of " +
                         std::to_string(total) + " bytes"));
  }
  std::string actual = hash.HexDigest();
  if (!expected.empty() && actual != expected) {
    return fail(DataLoss(artifact + ": checksum mismatch"));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return fail(Internal(path + ": " + ec.message()));
  return Status::Ok();
}

}  // namespace kdnas::cli
