// Content-addressed files in the data directory: datasets and teachers
// uploaded by users ("blobs/{sha256}") and artifacts uploaded by workers
// ("artifacts/{sha256}"). A file is written to a temporary name, its size
// and checksum verified, then renamed into place, so a partial upload never
// becomes visible. Names are validated, so no path can escape the directory.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "search/sha256.h"
#include "search/status.h"

namespace kdnas {

class BlobStore {
 public:
  // Creates <data_dir>/blobs, <data_dir>/artifacts and <data_dir>/tmp.
  static StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& data_dir, int64_t max_blob_bytes);

  // One upload in progress.
  class Upload {
   public:
    ~Upload();
    // Appends data; RESOURCE_EXHAUSTED past the announced size or the cap.
    Status Write(const std::string& data);
    // Verifies size and checksum and moves the file into place.
    // Returns the resource name ("blobs/..." or "artifacts/...").
    StatusOr<std::string> Finish();

   private:
    friend class BlobStore;
    std::string collection_;
    std::string expected_sha256_;
    int64_t expected_size_ = 0;
    int64_t written_ = 0;
    std::string tmp_path_;
    std::string final_dir_;
    std::ofstream out_;
    Sha256 hash_;
    bool finished_ = false;
  };

  // collection is "blobs" or "artifacts".
  StatusOr<std::unique_ptr<Upload>> StartUpload(const std::string& collection, const std::string& sha256,
                                                int64_t size_bytes);
  // The local path of "blobs/{sha}" or "artifacts/{sha}"; NOT_FOUND if absent,
  // INVALID_ARGUMENT for a malformed name.
  StatusOr<std::string> PathOf(const std::string& name) const;
  int64_t max_blob_bytes() const { return max_blob_bytes_; }

 private:
  std::string root_;
  int64_t max_blob_bytes_ = 0;
};

// Splits "blobs/{sha}" into its collection and sha; INVALID_ARGUMENT for any
// other shape (no "..", no slashes inside, lower-case hex only).
Status ParseBlobName(const std::string& name, std::string* collection, std::string* sha256);

}  // namespace kdnas
