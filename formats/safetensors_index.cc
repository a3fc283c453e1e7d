#include "formats/safetensors_index.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "formats/strict_json.h"

namespace kdnas {
namespace {

using Json = nlohmann::json;

// An index names its shards by file name, relative to its own directory.
// Anything that could reach outside it is refused.
bool IsPlainFileName(const std::string& name) {
  return !name.empty() && name.find_first_of(std::string("/\\\0", 3)) == std::string::npos &&
         name.find("..") == std::string::npos;
}

// Index files are small (a line per tensor); refuse anything absurd before
// reading it into memory.
constexpr int64_t kMaxIndexBytes = 100'000'000;

}  // namespace

StatusOr<SafetensorsIndex> ParseSafetensorsIndex(std::string_view text) {
  bool found_duplicate = false;
  DuplicateJsonKey duplicate;
  KDNAS_ASSIGN_OR_RETURN(const Json root,
                         ParseJsonFindingDuplicates(text, &found_duplicate, &duplicate));
  if (!root.is_object())
    return DataLoss("the index is " + JsonTypeForMessage(root) + ", not a JSON object");
  if (found_duplicate) {
    std::string where;
    for (const std::string& key : duplicate.path) where += (where.empty() ? "" : ".") + key;
    if (where == "weight_map")
      return DataLoss("tensor " + QuoteForMessage(duplicate.key) +
                      " appears twice in the weight_map");
    return DataLoss("the key " + QuoteForMessage(duplicate.key) + " appears twice in " +
                    (where.empty() ? std::string("the index") : QuoteForMessage(where)));
  }
  SafetensorsIndex index;
  if (auto it = root.find("metadata"); it != root.end() && !it->is_null()) {
    if (!it->is_object())
      return DataLoss("\"metadata\" is " + JsonTypeForMessage(*it) + ", not an object");
    for (const auto& [key, value] : it->items()) {
      if (key == "total_size") {
        if (!value.is_number_unsigned() ||
            value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
          return DataLoss("\"metadata\".\"total_size\" is " + value.dump().substr(0, 120) +
                          ", not a non-negative integer");
        }
        index.total_size_bytes = value.get<int64_t>();
      } else {
        index.metadata[key] = value.is_string()
                                  ? value.get<std::string>()
                                  : value.dump(-1, ' ', false, Json::error_handler_t::replace);
      }
    }
  }
  auto map = root.find("weight_map");
  if (map == root.end()) return DataLoss("the index has no \"weight_map\"");
  if (!map->is_object())
    return DataLoss("\"weight_map\" is " + JsonTypeForMessage(*map) + ", not an object");
  for (const auto& [tensor, shard] : map->items()) {
    if (!shard.is_string()) {
      return DataLoss("tensor " + QuoteForMessage(tensor) + ": its shard is " +
                      JsonTypeForMessage(shard) + ", not a file name");
    }
    const std::string& file = shard.get_ref<const std::string&>();
    if (!IsPlainFileName(file)) {
      return DataLoss("tensor " + QuoteForMessage(tensor) + ": the shard " + QuoteForMessage(file) +
                      " is not a plain file name (empty, or has '/', '\\\\', \"..\" or a NUL)");
    }
    index.weight_map[tensor] = file;
  }
  return index;
}

StatusOr<SafetensorsCheckpoint> SafetensorsCheckpoint::Open(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    if (fs::is_regular_file(dir / kSafetensorsFileName, ec))
      return FromFile((dir / kSafetensorsFileName).string());
    if (fs::is_regular_file(dir / kSafetensorsIndexFileName, ec))
      return FromIndex((dir / kSafetensorsIndexFileName).string());
    return NotFound(path + ": neither " + std::string(kSafetensorsFileName) + " nor " +
                    std::string(kSafetensorsIndexFileName));
  }
  if (!fs::is_regular_file(path, ec)) return NotFound(path + ": no such file");
  if (path.ends_with(".json")) return FromIndex(path);
  return FromFile(path);
}

StatusOr<SafetensorsCheckpoint> SafetensorsCheckpoint::FromFile(const std::string& path) {
  KDNAS_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Open(path));
  return FromSingleFile(std::move(file));
}

StatusOr<SafetensorsCheckpoint> SafetensorsCheckpoint::FromIndex(const std::string& index_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto size = fs::file_size(index_path, ec);
  if (ec) return NotFound(index_path + ": no such file");
  if (size > static_cast<uint64_t>(kMaxIndexBytes)) {
    return DataLoss(index_path + ": " + std::to_string(size) +
                    " bytes, more than an index may have (" + std::to_string(kMaxIndexBytes) + ")");
  }
  std::ifstream in(index_path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return DataLoss(index_path + ": cannot be read");
  auto parsed = ParseSafetensorsIndex(text.str());
  if (!parsed.ok())
    return Status(parsed.status().code(), index_path + ": " + parsed.status().message());

  // The shards, by file name, each opened once; the first tensor naming each
  // is kept for the message if it is missing.
  std::map<std::string, std::string> first_tensor;
  for (const auto& [tensor, shard] : parsed->weight_map) first_tensor.emplace(shard, tensor);
  const fs::path dir = fs::path(index_path).parent_path();
  std::map<std::string, SafetensorsFile> shards;
  for (const auto& [shard, tensor] : first_tensor) {
    const std::string shard_path = (dir / shard).string();
    if (!fs::is_regular_file(shard_path, ec)) {
      return NotFound(index_path + ": the shard " + QuoteForMessage(shard) + " of tensor " +
                      QuoteForMessage(tensor) + " is not in " + dir.string());
    }
    KDNAS_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Open(shard_path));
    shards.emplace(shard, std::move(file));
  }
  return FromShards(index_path, std::move(*parsed), std::move(shards));
}

StatusOr<SafetensorsCheckpoint> SafetensorsCheckpoint::FromShards(
    const std::string& where, SafetensorsIndex index,
    std::map<std::string, SafetensorsFile> shards) {
  SafetensorsCheckpoint checkpoint;
  std::vector<std::string> names;
  for (const auto& [tensor, shard] : index.weight_map) {
    if (!shards.contains(shard)) {
      return NotFound(where + ": the shard " + QuoteForMessage(shard) + " of tensor " +
                      QuoteForMessage(tensor) + " is missing");
    }
  }
  for (auto& [name, file] : shards) {
    names.push_back(name);
    checkpoint.shards_.push_back(std::move(file));
  }
  checkpoint.index_ = std::move(index);
  checkpoint.BuildTable();

  // No tensor is in two shards, and every shard holds exactly the tensors
  // the index puts in it.
  const SafetensorsIndex& weights = *checkpoint.index_;
  std::map<std::string, size_t> seen;
  for (size_t s = 0; s < checkpoint.shards_.size(); ++s) {
    for (const SafetensorsTensor& t : checkpoint.shards_[s].tensors()) {
      if (auto [it, fresh] = seen.emplace(t.name, s); !fresh) {
        return DataLoss(where + ": tensor " + QuoteForMessage(t.name) + " is in two shards, " +
                        QuoteForMessage(names[it->second]) + " and " + QuoteForMessage(names[s]));
      }
    }
  }
  for (const auto& [tensor, s] : seen) {
    auto listed = weights.weight_map.find(tensor);
    if (listed == weights.weight_map.end()) {
      return DataLoss(where + ": tensor " + QuoteForMessage(tensor) + " is in the shard " +
                      QuoteForMessage(names[s]) + " but not in the weight_map");
    }
    if (listed->second != names[s]) {
      return DataLoss(where + ": tensor " + QuoteForMessage(tensor) + " is in the shard " +
                      QuoteForMessage(names[s]) + " but the weight_map puts it in " +
                      QuoteForMessage(listed->second));
    }
  }
  for (const auto& [tensor, shard] : weights.weight_map) {
    if (!seen.contains(tensor)) {
      return DataLoss(where + ": tensor " + QuoteForMessage(tensor) +
                      ": the weight_map puts it in " + QuoteForMessage(shard) +
                      " but that shard has no such tensor");
    }
  }
  return checkpoint;
}

StatusOr<SafetensorsCheckpoint> SafetensorsCheckpoint::FromSingleFile(SafetensorsFile file) {
  SafetensorsCheckpoint checkpoint;
  checkpoint.shards_.push_back(std::move(file));
  checkpoint.BuildTable();
  return checkpoint;
}

void SafetensorsCheckpoint::BuildTable() {
  tensors_.clear();
  for (size_t s = 0; s < shards_.size(); ++s)
    for (const SafetensorsTensor& t : shards_[s].tensors()) tensors_.emplace(t.name, Entry{s, &t});
}

const SafetensorsCheckpoint::Entry* SafetensorsCheckpoint::Find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

StatusOr<std::string> SafetensorsCheckpoint::ReadTensorBytes(std::string_view name) const {
  const Entry* e = Find(name);
  if (e == nullptr) return NotFound("no tensor " + QuoteForMessage(name) + " in the checkpoint");
  return shards_[e->shard].ReadTensorBytes(name);
}

StatusOr<std::vector<float>> SafetensorsCheckpoint::ReadFloat32(std::string_view name) const {
  const Entry* e = Find(name);
  if (e == nullptr) return NotFound("no tensor " + QuoteForMessage(name) + " in the checkpoint");
  return shards_[e->shard].ReadFloat32(name);
}

}  // namespace kdnas
