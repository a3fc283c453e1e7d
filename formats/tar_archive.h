// A checkpoint directory as one uncompressed tar file, with libarchive:
// `kdnas submit` packs a local Hugging Face directory into one blob, the
// controller reads its small files and the safetensors headers from the
// blob without unpacking it, and a worker unpacks it once into its cache.
// Only regular files at the top level are allowed: a member with a
// directory part, "..", an absolute path, a link or a device is refused, so
// unpacking cannot write outside the target directory.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "search/status.h"

namespace kdnas {

// Reads the bytes of the current member in order.
class TarMemberReader {
 public:
  virtual ~TarMemberReader() = default;
  // Up to `n` bytes into `out` (fewer at the end of the member); the count
  // read, or DATA_LOSS.
  virtual StatusOr<int64_t> Read(char* out, int64_t n) = 0;
};

struct TarMember {
  std::string name;
  int64_t size = 0;
};

// Calls `visit` for each member of the tar at `path`, in archive order;
// `visit` may read as much of the member as it needs (the rest is skipped).
// Stops at the first error `visit` returns. INVALID_ARGUMENT for a member
// that is not a top-level regular file or appears twice, DATA_LOSS for a
// file that is not a tar archive.
Status ForEachTarMember(const std::string& path,
                        const std::function<Status(const TarMember&, TarMemberReader&)>& visit);

// Writes the regular files directly under `directory` (sorted by name,
// subdirectories and other entries refused with INVALID_ARGUMENT naming
// them) into an uncompressed tar at `tar_path`.
Status WriteTar(const std::string& directory, const std::string& tar_path);

// The same deterministic tar of in-memory files (sorted by name, no times or
// owners), and the files of such a tar. INVALID_ARGUMENT for a name with a
// directory part; FilesOfTar refuses what ForEachTarMember refuses.
StatusOr<std::string> TarOfFiles(const std::map<std::string, std::string>& files);
StatusOr<std::map<std::string, std::string>> FilesOfTar(std::string_view tar,
                                                        const std::string& what);

// Unpacks the tar at `tar_path` into `directory` (created; existing files of
// the same names are replaced).
Status ExtractTar(const std::string& tar_path, const std::string& directory);

}  // namespace kdnas
