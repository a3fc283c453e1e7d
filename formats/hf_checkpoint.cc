#include "formats/hf_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "formats/hf_tensor_map.h"
#include "formats/safetensors.h"
#include "formats/tar_archive.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

bool IsSmallFile(const std::string& name) {
  for (const char* small : kHfSmallFiles) {
    if (name == small) return true;
  }
  return false;
}

bool IsSafetensors(const std::string& name) { return name.ends_with(".safetensors"); }

// What a checkpoint holds, whichever container it came in.
struct Contents {
  TokenizerFiles small;
  std::map<std::string, SafetensorsFile> safetensors;  // by file name
};

StatusOr<Contents> ReadDirectory(const std::string& dir) {
  Contents contents;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(dir, ec)) {
    const std::string name = item.path().filename().string();
    if (!item.is_regular_file()) continue;
    if (IsSmallFile(name)) {
      if (item.file_size() > static_cast<uintmax_t>(kHfMaxSmallFileBytes)) {
        return InvalidArgument(name + ": " + std::to_string(item.file_size()) +
                               " bytes, more than kdnas reads of a checkpoint's small files");
      }
      std::ifstream in(item.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      contents.small[name] = text.str();
    } else if (IsSafetensors(name)) {
      KDNAS_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Open(item.path().string()));
      contents.safetensors.emplace(name, std::move(file));
    }
  }
  if (ec) return NotFound(dir + ": " + ec.message());
  return contents;
}

// Reads all of a small member, and only the header of a safetensors member.
StatusOr<Contents> ReadTar(const std::string& tar) {
  Contents contents;
  KDNAS_RETURN_IF_ERROR(ForEachTarMember(tar, [&](const TarMember& m, TarMemberReader& reader) {
    if (IsSmallFile(m.name)) {
      if (m.size > kHfMaxSmallFileBytes) {
        return InvalidArgument(m.name + ": " + std::to_string(m.size) +
                               " bytes, more than kdnas reads of a checkpoint's small files");
      }
      std::string bytes(static_cast<size_t>(m.size), '\0');
      KDNAS_ASSIGN_OR_RETURN(int64_t got, reader.Read(bytes.data(), m.size));
      if (got != m.size) return DataLoss(tar + ": member " + m.name + " is truncated");
      contents.small[m.name] = std::move(bytes);
      return Status::Ok();
    }
    if (!IsSafetensors(m.name)) return Status::Ok();
    std::string prefix(8, '\0');
    KDNAS_ASSIGN_OR_RETURN(int64_t got, reader.Read(prefix.data(), 8));
    if (got == 8) {
      uint64_t n = 0;
      for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(prefix[i]);
      // Parse bounds the header; read no more than it would accept.
      const int64_t header = static_cast<int64_t>(std::min<uint64_t>(
          n, static_cast<uint64_t>(std::min<int64_t>(SafetensorsFile::kMaxHeaderBytes, m.size))));
      prefix.resize(static_cast<size_t>(8 + header));
      KDNAS_ASSIGN_OR_RETURN(int64_t more, reader.Read(prefix.data() + 8, header));
      prefix.resize(static_cast<size_t>(8 + more));
    } else {
      prefix.resize(static_cast<size_t>(got));
    }
    auto file = SafetensorsFile::Parse(prefix, m.size);
    if (!file.ok()) return Status(file.status().code(), m.name + ": " + file.status().message());
    contents.safetensors.emplace(m.name, std::move(*file));
    return Status::Ok();
  }));
  return contents;
}

StatusOr<SafetensorsCheckpoint> WeightsOf(Contents& contents) {
  auto single = contents.safetensors.find(std::string(kSafetensorsFileName));
  if (single != contents.safetensors.end()) {  // preferred, as transformers does
    return SafetensorsCheckpoint::FromSingleFile(std::move(single->second));
  }
  auto index = contents.small.find(std::string(kSafetensorsIndexFileName));
  if (index == contents.small.end()) {
    return NotFound(std::string("neither ") + std::string(kSafetensorsFileName) + " nor " +
                    std::string(kSafetensorsIndexFileName) +
                    " (kdnas reads safetensors weights; save with "
                    "save_pretrained(dir, safe_serialization=True))");
  }
  auto parsed = ParseSafetensorsIndex(index->second);
  if (!parsed.ok()) {
    return Status(parsed.status().code(),
                  std::string(kSafetensorsIndexFileName) + ": " + parsed.status().message());
  }
  // The shards the index names; other .safetensors files are not weights.
  std::map<std::string, SafetensorsFile> shards;
  for (const auto& [tensor, shard] : parsed->weight_map) {
    auto file = contents.safetensors.find(shard);
    if (file != contents.safetensors.end()) shards.emplace(shard, std::move(file->second));
    contents.safetensors.erase(shard);
  }
  return SafetensorsCheckpoint::FromShards(std::string(kSafetensorsIndexFileName),
                                           std::move(*parsed), std::move(shards));
}

}  // namespace

Status CheckHfTensors(const SafetensorsCheckpoint& checkpoint, HfCheckpointHeaders* headers) {
  std::vector<std::string> names;
  for (const auto& [name, entry] : checkpoint.tensors()) names.push_back(name);
  headers->name_prefix = HfNamePrefix(headers->config, names);
  const std::string arch = headers->config.architecture;
  std::set<std::string> expected;
  std::set<SafetensorsDtype> dtypes;
  headers->parameters = headers->weight_bytes = 0;
  for (const HfTensorSpec& spec : HfTensorTable(headers->config, headers->name_prefix)) {
    expected.insert(spec.name);
    const auto* entry = checkpoint.Find(spec.name);
    if (entry == nullptr) {
      if (spec.optional) continue;
      return InvalidArgument("tensor " + spec.name + ": missing (a " + arch + " with this " +
                             "config.json has it)");
    }
    const SafetensorsTensor& t = *entry->tensor;
    if (t.shape != spec.shape) {
      return InvalidArgument("tensor " + spec.name + ": shape " + ShapeText(t.shape) +
                             ", but config.json makes it " + ShapeText(spec.shape));
    }
    if (t.dtype != SafetensorsDtype::kF32 && t.dtype != SafetensorsDtype::kF16 &&
        t.dtype != SafetensorsDtype::kBF16) {
      return InvalidArgument("tensor " + spec.name + ": dtype " +
                             std::string(SafetensorsDtypeName(t.dtype)) +
                             " (kdnas imports F32, F16 and BF16 weights)");
    }
    if (spec.optional) continue;  // a tied model's copy of the embedding
    dtypes.insert(t.dtype);
    headers->parameters += t.num_elements;
    headers->weight_bytes += t.size_bytes();
  }
  for (const std::string& name : names) {
    if (!expected.contains(name) && !IsIgnoredHfTensor(name)) {
      return InvalidArgument("tensor " + name + ": not a tensor of a " + arch +
                             " with this config.json (a different architecture, or extra "
                             "modules kdnas would not run)");
    }
  }
  headers->weight_dtype =
      dtypes.size() == 1 ? std::string(SafetensorsDtypeName(*dtypes.begin())) : "mixed";
  return Status::Ok();
}

StatusOr<HfCheckpointHeaders> ReadHfCheckpointHeaders(const std::string& path) {
  std::error_code ec;
  const bool directory = fs::is_directory(path, ec);
  if (!directory && !fs::is_regular_file(path, ec)) return NotFound(path + ": no such file");
  auto contents = directory ? ReadDirectory(path) : ReadTar(path);
  if (!contents.ok()) return contents.status();
  HfCheckpointHeaders headers;
  auto config = contents->small.find("config.json");
  if (config == contents->small.end()) {
    return NotFound(path +
                    " has no config.json (a Hugging Face checkpoint directory, as "
                    "save_pretrained writes it)");
  }
  KDNAS_ASSIGN_OR_RETURN(headers.config, ParseHfConfig(config->second));
  KDNAS_ASSIGN_OR_RETURN(SafetensorsCheckpoint weights, WeightsOf(*contents));
  KDNAS_RETURN_IF_ERROR(CheckHfTensors(weights, &headers));
  headers.files = std::move(contents->small);
  return headers;
}

}  // namespace kdnas
