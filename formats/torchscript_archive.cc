#include "formats/torchscript_archive.h"

#include <zip.h>

#include <filesystem>
#include <memory>

namespace kdnas {
namespace {

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct EntryCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

StatusOr<std::string> ReadEntry(zip_t* zip, zip_uint64_t index, const std::string& what,
                                int64_t max_bytes) {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(zip, index, 0, &stat) != 0 || (stat.valid & ZIP_STAT_SIZE) == 0)
    return DataLoss(what + ": cannot read its size");
  if (stat.size > static_cast<zip_uint64_t>(max_bytes)) {
    return ResourceExhausted(what + ": " + std::to_string(stat.size) + " bytes, more than " +
                             std::to_string(max_bytes));
  }
  std::unique_ptr<zip_file_t, EntryCloser> file(zip_fopen_index(zip, index, 0));
  if (!file) return DataLoss(what + ": cannot open: " + zip_strerror(zip));
  std::string data(stat.size, '\0');
  zip_int64_t read = zip_fread(file.get(), data.data(), stat.size);
  if (read < 0 || static_cast<zip_uint64_t>(read) != stat.size)
    return DataLoss(what + ": truncated or corrupt");
  return data;
}

}  // namespace

StatusOr<std::map<std::string, std::string>> ReadTorchScriptExtraFiles(
    const std::string& path, const std::vector<std::string>& names, int64_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return NotFound(path + ": no such file");
  int error = 0;
  std::unique_ptr<zip_t, ZipCloser> zip(zip_open(path.c_str(), ZIP_RDONLY, &error));
  if (!zip) {
    zip_error_t e;
    zip_error_init_with_code(&e, error);
    std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    return DataLoss(path + ": not a TorchScript file (not a zip archive: " + why + ")");
  }
  const zip_int64_t entries = zip_get_num_entries(zip.get(), 0);
  // Every entry shares the archive's top-level folder; data.pkl marks a
  // TorchScript (or torch.save) archive.
  std::string prefix;
  for (zip_int64_t i = 0; i < entries && prefix.empty(); ++i) {
    const char* name = zip_get_name(zip.get(), static_cast<zip_uint64_t>(i), 0);
    if (name == nullptr) continue;
    std::string n = name;
    const size_t slash = n.find('/');
    if (slash != std::string::npos && n.substr(slash + 1) == "data.pkl")
      prefix = n.substr(0, slash + 1);
  }
  if (prefix.empty())
    return DataLoss(path + ": a zip archive but not a TorchScript file (no data.pkl)");
  std::map<std::string, std::string> out;
  for (const std::string& want : names) {
    const std::string entry = prefix + "extra/" + want;
    const zip_int64_t index = zip_name_locate(zip.get(), entry.c_str(), 0);
    if (index < 0) continue;
    KDNAS_ASSIGN_OR_RETURN(out[want], ReadEntry(zip.get(), static_cast<zip_uint64_t>(index),
                                                path + ": extra file " + want, max_bytes));
  }
  return out;
}

}  // namespace kdnas
