// Helpers of the safetensors tests: files built byte by byte, and a
// temporary directory to write shards and indexes into.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "formats/safetensors_index.h"

namespace kdnas::safetensors_test {

namespace fs = std::filesystem;
using Json = nlohmann::json;

inline std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteAll(const fs::path& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A file: the little-endian header length (`n`, by default the header's),
// the header and the data.
inline std::string File(std::string_view header, std::string_view data = "",
                        std::optional<uint64_t> n = {}) {
  const uint64_t length = n.value_or(header.size());
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  out.append(header).append(data);
  return out;
}

// A header entry.
inline std::string Entry(const std::string& dtype, const std::string& shape,
                         const std::string& offsets) {
  return R"({"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}

class SafetensorsDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kdnas-safetensors-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A shard holding F32 tensors of two elements each, named `names`.
  void WriteShard(const std::string& file, const std::vector<std::string>& names) {
    Json header = Json::object();
    for (size_t i = 0; i < names.size(); ++i)
      header[names[i]] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {8 * i, 8 * i + 8}}};
    WriteAll(dir_ / file, File(header.dump(), std::string(8 * names.size(), '\0')));
  }
  void WriteIndex(const Json& weight_map) {
    WriteAll(dir_ / kSafetensorsIndexFileName,
             Json{{"metadata", {{"total_size", 16}}}, {"weight_map", weight_map}}.dump());
  }
  // Opening dir_ fails with `code` and a message holding each of `needles`.
  void ExpectRefused(StatusCode code, const std::vector<std::string>& needles) {
    auto checkpoint = SafetensorsCheckpoint::Open(dir_.string());
    ASSERT_FALSE(checkpoint.ok());
    EXPECT_EQ(checkpoint.status().code(), code) << checkpoint.status().ToString();
    for (const auto& needle : needles) {
      EXPECT_NE(checkpoint.status().message().find(needle), std::string::npos)
          << "\"" << needle << "\" not in: " << checkpoint.status().message();
    }
  }
  fs::path dir_;
};

}  // namespace kdnas::safetensors_test
