#include "formats/tar_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <vector>

namespace kdnas {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kChunk = 1 << 20;

struct ReadArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

std::string ErrorOf(archive* a) {
  const char* message = archive_error_string(a);
  return message ? message : "unknown libarchive error";
}

class LibarchiveMemberReader : public TarMemberReader {
 public:
  LibarchiveMemberReader(archive* a, std::string where) : a_(a), where_(std::move(where)) {}
  StatusOr<int64_t> Read(char* out, int64_t n) override {
    int64_t total = 0;
    while (total < n) {
      const la_ssize_t got = archive_read_data(a_, out + total, static_cast<size_t>(n - total));
      if (got < 0) return DataLoss(where_ + ": " + ErrorOf(a_));
      if (got == 0) break;
      total += got;
    }
    return total;
  }

 private:
  archive* a_;
  std::string where_;
};

// A name that is a file directly in the archive's directory.
bool IsTopLevelFileName(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
}

// The member's file name: "name" or "./name". Empty for the "." directory
// entry that `tar -C dir -cf x.tar .` writes first.
StatusOr<std::string> MemberName(archive_entry* entry, const std::string& tar_path) {
  const char* raw = archive_entry_pathname(entry);
  std::string name = raw ? raw : "";
  while (name.rfind("./", 0) == 0) name.erase(0, 2);
  const auto type = archive_entry_filetype(entry);
  if (type == AE_IFDIR && (name.empty() || name == ".")) return std::string();
  const std::string what = tar_path + ": member \"" + std::string(raw ? raw : "") + "\"";
  if (type != AE_IFREG) {
    return InvalidArgument(what +
                           " is not a regular file (a checkpoint tar holds the files of one "
                           "directory, without subdirectories or links)");
  }
  if (!IsTopLevelFileName(name)) {
    return InvalidArgument(what + " is not a file at the top level of the archive");
  }
  return name;
}

// Calls `visit` for each member of an opened archive (see ForEachTarMember).
Status VisitMembers(archive* a, const std::string& what,
                    const std::function<Status(const TarMember&, TarMemberReader&)>& visit) {
  std::set<std::string> seen;
  archive_entry* entry = nullptr;
  while (true) {
    const int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return DataLoss(what + ": not a readable tar archive: " + ErrorOf(a));
    KDNAS_ASSIGN_OR_RETURN(std::string name, MemberName(entry, what));
    if (name.empty()) continue;
    if (!seen.insert(name).second) {
      return InvalidArgument(what + ": member \"" + name + "\" appears twice");
    }
    if (!archive_entry_size_is_set(entry) || archive_entry_size(entry) < 0) {
      return DataLoss(what + ": member \"" + name + "\" has no size");
    }
    TarMember member{name, archive_entry_size(entry)};
    LibarchiveMemberReader reader(a, what + ": " + name);
    KDNAS_RETURN_IF_ERROR(visit(member, reader));
  }
  return Status::Ok();
}

// Starts a deterministic tar (pax restricted) and writes members to it.
class TarWriter {
 public:
  TarWriter() : a_(archive_write_new()) { archive_write_set_format_pax_restricted(a_.get()); }
  archive* get() { return a_.get(); }
  // Writes the header of a regular file `name` of `size` bytes.
  Status Header(const std::string& name, int64_t size, const std::string& what) {
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    // No times, owners or modes from the machine: the same files pack to
    // the same bytes, so a blob's digest and an artifact's size are the same.
    archive_entry_set_mtime(entry.get(), 0, 0);
    if (archive_write_header(a_.get(), entry.get()) != ARCHIVE_OK) {
      return Internal(what + ": " + ErrorOf(a_.get()));
    }
    return Status::Ok();
  }
  Status Data(const char* data, size_t n, const std::string& what) {
    if (n > 0 && archive_write_data(a_.get(), data, n) != static_cast<la_ssize_t>(n)) {
      return Internal(what + ": " + ErrorOf(a_.get()));
    }
    return Status::Ok();
  }
  Status Close(const std::string& what) {
    if (archive_write_close(a_.get()) != ARCHIVE_OK)
      return Internal(what + ": " + ErrorOf(a_.get()));
    return Status::Ok();
  }

 private:
  std::unique_ptr<archive, WriteArchiveDeleter> a_;
};

}  // namespace

Status ForEachTarMember(const std::string& path,
                        const std::function<Status(const TarMember&, TarMemberReader&)>& visit) {
  std::unique_ptr<archive, ReadArchiveDeleter> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), kChunk) != ARCHIVE_OK) {
    return DataLoss(path + ": " + ErrorOf(a.get()));
  }
  return VisitMembers(a.get(), path, visit);
}

StatusOr<std::map<std::string, std::string>> FilesOfTar(std::string_view tar,
                                                        const std::string& what) {
  std::unique_ptr<archive, ReadArchiveDeleter> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), tar.data(), tar.size()) != ARCHIVE_OK) {
    return DataLoss(what + ": " + ErrorOf(a.get()));
  }
  std::map<std::string, std::string> files;
  KDNAS_RETURN_IF_ERROR(
      VisitMembers(a.get(), what, [&](const TarMember& member, TarMemberReader& reader) -> Status {
        std::string bytes(static_cast<size_t>(member.size), '\0');
        KDNAS_ASSIGN_OR_RETURN(int64_t got, reader.Read(bytes.data(), member.size));
        if (got != member.size)
          return DataLoss(what + ": member \"" + member.name + "\" is truncated");
        files[member.name] = std::move(bytes);
        return Status::Ok();
      }));
  return files;
}

Status WriteTar(const std::string& directory, const std::string& tar_path) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& item : fs::directory_iterator(directory, ec)) {
    if (!item.is_regular_file()) {
      return InvalidArgument(item.path().string() +
                             " is not a regular file (a checkpoint directory holds files only)");
    }
    files.push_back(item.path());
  }
  if (ec) return InvalidArgument(directory + ": " + ec.message());
  std::sort(files.begin(), files.end());
  TarWriter tar;
  if (archive_write_open_filename(tar.get(), tar_path.c_str()) != ARCHIVE_OK) {
    return Internal(tar_path + ": " + ErrorOf(tar.get()));
  }
  std::vector<char> buffer(kChunk);
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return InvalidArgument(file.string() + ": cannot be read");
    KDNAS_RETURN_IF_ERROR(
        tar.Header(file.filename().string(), static_cast<int64_t>(fs::file_size(file)), tar_path));
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      KDNAS_RETURN_IF_ERROR(tar.Data(buffer.data(), static_cast<size_t>(in.gcount()), tar_path));
    }
  }
  return tar.Close(tar_path);
}

StatusOr<std::string> TarOfFiles(const std::map<std::string, std::string>& files) {
  size_t capacity = 10240;
  for (const auto& [name, bytes] : files) capacity += 1536 + bytes.size() + 512;
  std::string out(capacity, '\0');
  size_t used = 0;
  TarWriter tar;
  // Memory output: one block per write, no padding to a 10 KiB record.
  archive_write_set_bytes_per_block(tar.get(), 0);
  if (archive_write_open_memory(tar.get(), out.data(), out.size(), &used) != ARCHIVE_OK) {
    return Internal("tar: " + ErrorOf(tar.get()));
  }
  for (const auto& [name, bytes] : files) {
    if (!IsTopLevelFileName(name)) {
      return InvalidArgument("tar: \"" + name + "\" is not a file name");
    }
    KDNAS_RETURN_IF_ERROR(tar.Header(name, static_cast<int64_t>(bytes.size()), "tar"));
    KDNAS_RETURN_IF_ERROR(tar.Data(bytes.data(), bytes.size(), "tar"));
  }
  KDNAS_RETURN_IF_ERROR(tar.Close("tar"));
  out.resize(used);
  return out;
}

Status ExtractTar(const std::string& tar_path, const std::string& directory) {
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) return Internal(directory + ": " + ec.message());
  std::vector<char> buffer(kChunk);
  return ForEachTarMember(tar_path, [&](const TarMember& member, TarMemberReader& reader) {
    const fs::path target = fs::path(directory) / member.name;
    const fs::path partial = target.string() + ".partial";
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    int64_t left = member.size;
    while (left > 0) {
      KDNAS_ASSIGN_OR_RETURN(int64_t got,
                             reader.Read(buffer.data(), std::min<int64_t>(left, kChunk)));
      if (got == 0) return DataLoss(tar_path + ": member \"" + member.name + "\" is truncated");
      out.write(buffer.data(), got);
      left -= got;
    }
    out.close();
    if (!out) return Internal(partial.string() + ": write failed");
    fs::rename(partial, target, ec);
    if (ec) return Internal(target.string() + ": " + ec.message());
    return Status::Ok();
  });
}

}  // namespace kdnas
