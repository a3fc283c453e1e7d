#include "server/blob_store.h"

#include <atomic>
#include <cstdio>
#include <filesystem>

#include <unistd.h>

namespace kdnas {

namespace fs = std::filesystem;

Status ParseBlobName(const std::string& name, std::string* collection, std::string* sha256) {
  auto slash = name.find('/');
  if (slash == std::string::npos) {
    return InvalidArgument("name: \"" + name.substr(0, 100) + "\" is not blobs/<sha256> or artifacts/<sha256>");
  }
  std::string c = name.substr(0, slash), sha = name.substr(slash + 1);
  if ((c != "blobs" && c != "artifacts") || !IsSha256Hex(sha)) {
    return InvalidArgument("name: \"" + name.substr(0, 100) + "\" is not blobs/<sha256> or artifacts/<sha256>");
  }
  *collection = c;
  *sha256 = sha;
  return Status::Ok();
}

StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& data_dir, int64_t max_blob_bytes) {
  auto store = std::unique_ptr<BlobStore>(new BlobStore());
  store->root_ = data_dir;
  store->max_blob_bytes_ = max_blob_bytes;
  std::error_code ec;
  for (const char* sub : {"blobs", "artifacts", "tmp"}) {
    fs::create_directories(fs::path(data_dir) / sub, ec);
    if (ec) return Unavailable("cannot create " + (fs::path(data_dir) / sub).string() + ": " + ec.message());
  }
  // Uploads that were cut off by a crash.
  for (const auto& entry : fs::directory_iterator(fs::path(data_dir) / "tmp", ec)) fs::remove(entry.path(), ec);
  return store;
}

StatusOr<std::unique_ptr<BlobStore::Upload>> BlobStore::StartUpload(const std::string& collection,
                                                                    const std::string& sha256, int64_t size_bytes) {
  static std::atomic<uint64_t> counter{0};
  if (collection != "blobs" && collection != "artifacts") return InvalidArgument("unknown collection " + collection);
  if (!IsSha256Hex(sha256)) return InvalidArgument("metadata.sha256: must be 64 lower-case hex characters");
  if (size_bytes < 0) return InvalidArgument("metadata.size_bytes: must be >= 0");
  if (size_bytes > max_blob_bytes_) {
    return ResourceExhausted("metadata.size_bytes: " + std::to_string(size_bytes) + " exceeds the limit of " +
                             std::to_string(max_blob_bytes_) + " bytes (--max-blob-bytes)");
  }
  auto upload = std::unique_ptr<Upload>(new Upload());
  upload->collection_ = collection;
  upload->expected_sha256_ = sha256;
  upload->expected_size_ = size_bytes;
  upload->final_dir_ = (fs::path(root_) / collection).string();
  upload->tmp_path_ = (fs::path(root_) / "tmp" / (sha256 + "." + std::to_string(::getpid()) + "." +
                                                  std::to_string(counter++)))
                          .string();
  upload->out_.open(upload->tmp_path_, std::ios::binary | std::ios::trunc);
  if (!upload->out_) return Unavailable("cannot write " + upload->tmp_path_);
  return upload;
}

BlobStore::Upload::~Upload() {
  if (!finished_) {
    out_.close();
    std::remove(tmp_path_.c_str());
  }
}

Status BlobStore::Upload::Write(const std::string& data) {
  if (written_ + static_cast<int64_t>(data.size()) > expected_size_) {
    return InvalidArgument("upload: more bytes than metadata.size_bytes (" + std::to_string(expected_size_) + ")");
  }
  out_.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out_) return Unavailable("upload: write failed");
  hash_.Update(data);
  written_ += static_cast<int64_t>(data.size());
  return Status::Ok();
}

StatusOr<std::string> BlobStore::Upload::Finish() {
  out_.flush();
  out_.close();
  if (written_ != expected_size_) {
    return InvalidArgument("upload: got " + std::to_string(written_) + " bytes, metadata.size_bytes says " +
                           std::to_string(expected_size_));
  }
  std::string actual = hash_.HexDigest();
  if (actual != expected_sha256_) {
    return InvalidArgument("upload: sha256 of the data is " + actual + ", metadata.sha256 says " + expected_sha256_);
  }
  std::error_code ec;
  fs::rename(tmp_path_, fs::path(final_dir_) / expected_sha256_, ec);
  if (ec) return Unavailable("upload: cannot store the file: " + ec.message());
  finished_ = true;
  return collection_ + "/" + expected_sha256_;
}

StatusOr<std::string> BlobStore::PathOf(const std::string& name) const {
  std::string collection, sha;
  KDNAS_RETURN_IF_ERROR(ParseBlobName(name, &collection, &sha));
  fs::path path = fs::path(root_) / collection / sha;
  if (!fs::exists(path)) return NotFound(name + " not found");
  return path.string();
}

}  // namespace kdnas
