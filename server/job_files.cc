#include "server/job_files.h"

#include <filesystem>
#include <fstream>
#include <system_error>

namespace kdnas {

namespace fs = std::filesystem;

std::string JobFileField(const v1::FileRef& ref, const std::string& field) {
  return field + (ref.source_case() == v1::FileRef::kBlob ? ".blob" : ".path");
}

const std::string& JobFileName(const v1::FileRef& ref) {
  return ref.source_case() == v1::FileRef::kBlob ? ref.blob() : ref.path();
}

StatusOr<std::string> ResolveJobFile(const v1::FileRef& ref, const std::string& field,
                                     const BlobStore& blobs, bool directory_ok) {
  if (ref.source_case() == v1::FileRef::kBlob) {
    auto path = blobs.PathOf(ref.blob());
    if (!path.ok()) {
      return InvalidArgument(field + ".blob: " + path.status().message() +
                             " (upload it with kdnas upload)");
    }
    return *path;
  }
  std::error_code ec;
  if (directory_ok && fs::is_directory(ref.path(), ec)) {
    fs::directory_iterator probe(ref.path(), ec);
    if (!ec) return ref.path();
  } else if (!fs::is_directory(ref.path(), ec)) {
    std::ifstream probe(ref.path(), std::ios::binary);
    if (probe) return ref.path();
  }
  return InvalidArgument(field + ".path: the controller cannot read " + ref.path() +
                         " (upload it with kdnas upload, or submit without --no-upload)");
}

}  // namespace kdnas
