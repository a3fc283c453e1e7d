// The safetensors reader against files written by tests/fixtures/
// safetensors_writer.py (the values checked against what torch says), and
// against hostile files built here byte by byte.
#include "formats/safetensors.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "formats/safetensors_index.h"
#include "tests/formats/safetensors_test_util.h"

namespace kdnas::safetensors_test {
namespace {

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// What the Python side calls each dtype.
SafetensorsDtype FromTorchName(const std::string& torch_name) {
  static const std::map<std::string, SafetensorsDtype> names = {
      {"torch.bool", SafetensorsDtype::kBool},     {"torch.uint8", SafetensorsDtype::kU8},
      {"torch.int8", SafetensorsDtype::kI8},       {"torch.int16", SafetensorsDtype::kI16},
      {"torch.float16", SafetensorsDtype::kF16},   {"torch.bfloat16", SafetensorsDtype::kBF16},
      {"torch.int32", SafetensorsDtype::kI32},     {"torch.float32", SafetensorsDtype::kF32},
      {"torch.float64", SafetensorsDtype::kF64},   {"torch.int64", SafetensorsDtype::kI64},
      {"torch.complex64", SafetensorsDtype::kC64},
  };
  return names.at(torch_name);
}

// The fixtures, written once per test program by the Python writer.
class SafetensorsPythonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ =
        new fs::path(fs::temp_directory_path() / ("kdnas-safetensors-" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    // Tests run in the source directory (kdnas_test).
    const std::string command = "/usr/bin/python3 tests/formats/make_safetensors_fixtures.py " +
                                dir_->string() + " > " + (*dir_ / "python.log").string() + " 2>&1";
    const int rc = std::system(command.c_str());
    python_ok_ = rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
    if (python_ok_) manifest_ = new Json(Json::parse(ReadAll(*dir_ / "manifest.json")));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete manifest_;
  }
  void SetUp() override {
    ASSERT_TRUE(python_ok_) << "the Python writer failed:\n" << ReadAll(*dir_ / "python.log");
  }

  // Every tensor of `expected` (a manifest entry) is in `find`'s checkpoint
  // with torch's dtype, shape, bytes and float32 values.
  template <typename Source>
  void ExpectTensorsAsPythonWrote(const Source& source, const Json& expected) {
    for (const auto& item : expected.items()) {
      const std::string& name = item.key();
      const Json& want = item.value();
      SCOPED_TRACE(name);
      const SafetensorsTensor* t = nullptr;
      if constexpr (std::is_same_v<Source, SafetensorsFile>) {
        t = source.Find(name);
      } else {
        const auto* entry = source.Find(name);
        t = entry ? entry->tensor : nullptr;
      }
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(t->dtype, FromTorchName(want["dtype"]));
      EXPECT_EQ(t->shape, want["shape"].get<std::vector<int64_t>>());
      auto raw = source.ReadTensorBytes(name);
      ASSERT_TRUE(raw.ok()) << raw.status().ToString();
      EXPECT_EQ(*raw, FromHex(want["raw_hex"]));
      if (!want.contains("f32_bits")) {
        EXPECT_EQ(source.ReadFloat32(name).status().code(), StatusCode::kInvalidArgument);
        continue;
      }
      auto values = source.ReadFloat32(name);
      ASSERT_TRUE(values.ok()) << values.status().ToString();
      const auto bits = want["f32_bits"].get<std::vector<int32_t>>();
      ASSERT_EQ(values->size(), bits.size());
      int mismatches = 0;
      for (size_t i = 0; i < bits.size(); ++i) {
        const float expect = std::bit_cast<float>(bits[i]);
        const float got = (*values)[i];
        const bool same =
            std::isnan(expect) ? std::isnan(got) : std::bit_cast<int32_t>(got) == bits[i];
        if (!same && ++mismatches <= 5)
          ADD_FAILURE() << "element " << i << ": " << got << " != " << expect;
      }
      EXPECT_EQ(mismatches, 0);
    }
  }

  static fs::path* dir_;
  static Json* manifest_;
  static bool python_ok_;
};
fs::path* SafetensorsPythonTest::dir_ = nullptr;
Json* SafetensorsPythonTest::manifest_ = nullptr;
bool SafetensorsPythonTest::python_ok_ = false;

TEST_F(SafetensorsPythonTest, ReadsAFileAsPythonWroteIt) {
  auto file = SafetensorsFile::Open((*dir_ / "single" / "model.safetensors").string());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const Json& want = (*manifest_)["single"];
  EXPECT_EQ(file->metadata(), (want["metadata"].get<std::map<std::string, std::string>>()));
  EXPECT_EQ(file->tensors().size(), want["tensors"].size());
  EXPECT_EQ(file->header_size_bytes() % 8, 0);  // padded as the Rust writer does
  ExpectTensorsAsPythonWrote(*file, want["tensors"]);
  // The writer's layout: descending dtype (the enum's order), then name.
  for (size_t i = 1; i < file->tensors().size(); ++i) {
    const auto& a = file->tensors()[i - 1];
    const auto& b = file->tensors()[i];
    EXPECT_TRUE(a.dtype > b.dtype || (a.dtype == b.dtype && a.name < b.name))
        << a.name << ", " << b.name;
  }
  const SafetensorsTensor* scalar = file->Find("scalar");
  ASSERT_NE(scalar, nullptr);
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->num_elements, 1);
  EXPECT_EQ(file->Find("empty")->size_bytes(), 0);
  EXPECT_EQ(file->Find("absent"), nullptr);
  EXPECT_EQ(file->ReadTensorBytes("absent").status().code(), StatusCode::kNotFound);
}

TEST_F(SafetensorsPythonTest, ReadsAShardedCheckpointAsPythonWroteIt) {
  auto checkpoint = SafetensorsCheckpoint::Open((*dir_ / "sharded").string());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().ToString();
  const Json& want = (*manifest_)["sharded"];
  ASSERT_TRUE(checkpoint->index().has_value());
  EXPECT_EQ(checkpoint->index()->weight_map,
            (want["weight_map"].get<std::map<std::string, std::string>>()));
  EXPECT_EQ(checkpoint->shards().size(), want["files"].size() - 1);  // and the index
  EXPECT_EQ(checkpoint->tensors().size(), want["tensors"].size());
  int64_t total = 0;
  for (const auto& [name, entry] : checkpoint->tensors()) {
    EXPECT_EQ(fs::path(checkpoint->shards()[entry.shard].path()).filename().string(),
              want["weight_map"][name].get<std::string>());
    EXPECT_EQ(checkpoint->shards()[entry.shard].metadata().at("format"), "pt");
    total += entry.tensor->size_bytes();
  }
  EXPECT_EQ(checkpoint->index()->total_size_bytes, total);
  ExpectTensorsAsPythonWrote(*checkpoint, want["tensors"]);
  // The index file itself opens the same checkpoint.
  auto by_index =
      SafetensorsCheckpoint::Open((*dir_ / "sharded" / kSafetensorsIndexFileName).string());
  ASSERT_TRUE(by_index.ok()) << by_index.status().ToString();
  EXPECT_EQ(by_index->tensors().size(), checkpoint->tensors().size());
}

TEST_F(SafetensorsPythonTest, ADirectoryWithOneFileIsACheckpointOfOneShard) {
  auto checkpoint = SafetensorsCheckpoint::Open((*dir_ / "single").string());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().ToString();
  EXPECT_FALSE(checkpoint->index().has_value());
  ASSERT_EQ(checkpoint->shards().size(), 1u);
  ExpectTensorsAsPythonWrote(*checkpoint, (*manifest_)["single"]["tensors"]);
}

// The writer produces the bytes of the Rust library's own tests
// (safetensors/src/tensor.rs: test_serialization, test_empty).
TEST_F(SafetensorsPythonTest, TheWriterMatchesTheRustLibrarysTestVectors) {
  const std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  std::string data;
  for (float f : {0.f, 1.f, 2.f, 3.f, 4.f, 5.f}) {
    const uint32_t bits = std::bit_cast<uint32_t>(f);
    for (int i = 0; i < 4; ++i) data.push_back(static_cast<char>(bits >> (8 * i)));
  }
  EXPECT_EQ(ReadAll(*dir_ / "rust_serialization.safetensors"), File(header, data));
  EXPECT_EQ(ReadAll(*dir_ / "rust_empty_metadata.safetensors"),
            File(R"({"__metadata__":{"framework":"pt"}}     )"));
  auto empty = SafetensorsFile::Open((*dir_ / "rust_empty_metadata.safetensors").string());
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->tensors().empty());
  EXPECT_EQ(empty->metadata().at("framework"), "pt");
}

// ---- Hostile files -------------------------------------------------------

// Parsing `bytes` fails with DATA_LOSS and a message holding `needle`.
void ExpectDataLoss(const std::string& bytes, const std::string& needle) {
  auto file = SafetensorsFile::Parse(bytes, static_cast<int64_t>(bytes.size()));
  ASSERT_FALSE(file.ok()) << "accepted: " << bytes.substr(8, 200);
  EXPECT_EQ(file.status().code(), StatusCode::kDataLoss) << file.status().ToString();
  EXPECT_NE(file.status().message().find(needle), std::string::npos)
      << "\"" << needle << "\" not in: " << file.status().message();
}

TEST(SafetensorsHostileTest, RefusesABadHeaderLength) {
  ExpectDataLoss("", "shorter than the 8-byte header length");
  ExpectDataLoss("abc", "the file is 3 bytes");
  ExpectDataLoss(File("{}", "", uint64_t{1} << 40), "more than the 100000000");
  ExpectDataLoss(File("{}", "", ~uint64_t{0}), "more than the 100000000");
  ExpectDataLoss(File("{}", "", 100'000'001), "more than the 100000000");
  ExpectDataLoss(File("{}", "", 3), "only 2 follow");
}

TEST(SafetensorsHostileTest, RefusesAHeaderThatIsNotAJsonObject) {
  ExpectDataLoss(File(R"({"w": )"), "not valid JSON");
  ExpectDataLoss(File("{} trailing"), "not valid JSON");
  ExpectDataLoss(File("{\"w\xff\": 1}"), "not valid JSON");  // not UTF-8
  ExpectDataLoss(File("{/*c*/}"), "not valid JSON");
  ExpectDataLoss(File("[1, 2]"), "an array, not a JSON object");
  ExpectDataLoss(File("\"w\""), "a string, not a JSON object");
  ExpectDataLoss(File(R"({"__metadata__": {"k": 1}})"),
                 "__metadata__: the value of \"k\" is an integer");
  ExpectDataLoss(File(R"({"__metadata__": [1]})"), "__metadata__ is an array");
}

TEST(SafetensorsHostileTest, RefusesABadEntryNamingTheTensor) {
  ExpectDataLoss(File(R"({"w": [1]})"), R"(tensor "w": its entry is an array)");
  ExpectDataLoss(File(R"({"w": {"dtype":"F32","shape":[1]}})"), R"(tensor "w": no "data_offsets")");
  ExpectDataLoss(File(R"({"w": )" + Entry("F3", "[1]", "[0,4]") + "}", "abcd"),
                 R"(tensor "w": unknown dtype "F3")");
  ExpectDataLoss(File(R"({"w": )" + Entry("f32", "[1]", "[0,4]") + "}", "abcd"),
                 R"(tensor "w": unknown dtype "f32")");
  ExpectDataLoss(File(R"({"w": {"dtype":1,"shape":[1],"data_offsets":[0,4]}})", "abcd"),
                 R"(tensor "w": "dtype" is an integer)");
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "[-1]", "[0,4]") + "}", "abcd"),
                 R"(tensor "w": shape[0] is -1, not an integer)");
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "[2, 1.0]", "[0,8]") + "}", "abcdefgh"),
                 R"(tensor "w": shape[1] is 1.0, not an integer)");
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", R"(["1"])", "[0,4]") + "}", "abcd"),
                 R"(tensor "w": shape[0] is "1")");
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "7", "[0,4]") + "}", "abcd"),
                 R"(tensor "w": "shape" is an integer, not a list)");
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "[1]", "[0]") + "}", "abcd"),
                 R"(tensor "w": "data_offsets" is [0])");
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "[1]", "[0,4.0]") + "}", "abcd"),
                 R"(tensor "w": "data_offsets")");
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "[1]", "[-4,0]") + "}", "abcd"),
                 R"(tensor "w": "data_offsets")");
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "[0]", "[8,0]") + "}", "abcdefgh"),
                 R"(tensor "w": data_offsets end 0 < begin 8)");
  ExpectDataLoss(File(R"({"w": )" + Entry("F4", "[3]", "[0,2]") + "}", "ab"),
                 R"(tensor "w": 3 elements of F4 are not a whole number of bytes)");
}

TEST(SafetensorsHostileTest, RefusesASizeThatDisagreesWithTheSpan) {
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "[2,3]", "[0,20]") + "}", std::string(20, 'x')),
                 R"(tensor "w": shape [2,3] of F32 is 24 bytes but data_offsets [0, 20) hold 20)");
  ExpectDataLoss(File(R"({"w": )" + Entry("BF16", "[]", "[0,4]") + "}", "abcd"),
                 R"(tensor "w": shape [] of BF16 is 2 bytes)");
}

TEST(SafetensorsHostileTest, RefusesAShapeWhoseSizeOverflows) {
  const std::string big = std::to_string(uint64_t{1} << 40);
  ExpectDataLoss(
      File(R"({"w": )" + Entry("F32", "[" + big + "," + big + "]", "[0,4]") + "}", "abcd"),
      R"(tensor "w": the number of elements of shape [1099511627776,1099511627776] overflows)");
  // Overflow at any step, as the Rust library checks it, although the product is 0.
  ExpectDataLoss(File(R"({"w": )" + Entry("U8", "[" + big + "," + big + ",0]", "[0,0]") + "}"),
                 R"(tensor "w": the number of elements)");
  // The elements fit, their bits do not.
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "[2305843009213693952]", "[0,4]") + "}", "abcd"),
                 R"(tensor "w": the size of shape [2305843009213693952] of F32 overflows)");
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "[18446744073709551615]", "[0,4]") + "}", "abcd"),
                 R"(tensor "w": shape[0] is 18446744073709551615, not an integer in [0, 2^63))");
}

TEST(SafetensorsHostileTest, RefusesSpansOutsideTheDataSection) {
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "[16]", "[0,64]") + "}", std::string(16, 'x')),
                 R"(tensor "w": data_offsets [0, 64) end past the data section (16 bytes))");
  ExpectDataLoss(
      File(R"({"w": )" + Entry("U8", "[4]", "[9223372036854775800,9223372036854775804]") + "}"),
      R"(tensor "w": data_offsets [9223372036854775800, 9223372036854775804) end past)");
}

TEST(SafetensorsHostileTest, RefusesOverlapsGapsAndTrailingBytes) {
  ExpectDataLoss(File(R"({"a": )" + Entry("F32", "[2]", "[0,8]") + R"(, "b": )" +
                          Entry("F32", "[2]", "[4,12]") + "}",
                      std::string(12, 'x')),
                 R"(tensor "b": data_offsets [4, 12) overlap those of tensor "a" [0, 8))");
  // The same span twice is an overlap too.
  ExpectDataLoss(File(R"({"a": )" + Entry("F32", "[2]", "[0,8]") + R"(, "b": )" +
                          Entry("I32", "[2]", "[0,8]") + "}",
                      std::string(8, 'x')),
                 R"(tensor "b": data_offsets [0, 8) overlap those of tensor "a")");
  ExpectDataLoss(File(R"({"a": )" + Entry("F32", "[2]", "[0,8]") + R"(, "b": )" +
                          Entry("F32", "[2]", "[12,20]") + "}",
                      std::string(20, 'x')),
                 R"(tensor "b": data_offsets [12, 20) leave a gap of 4 bytes after tensor "a")");
  ExpectDataLoss(File(R"({"a": )" + Entry("F32", "[2]", "[4,12]") + "}", std::string(12, 'x')),
                 R"(tensor "a": data_offsets [4, 12) leave a gap of 4 bytes after the header)");
  ExpectDataLoss(File(R"({"a": )" + Entry("F32", "[2]", "[0,8]") + "}", std::string(9, 'x')),
                 R"(1 bytes after the last tensor, "a")");
  ExpectDataLoss(File("{}", "x"), "1 bytes after the header, which names no tensor");
}

TEST(SafetensorsHostileTest, RefusesDuplicateKeys) {
  ExpectDataLoss(File(R"({"w": )" + Entry("F32", "[1]", "[0,4]") + R"(, "w": )" +
                          Entry("F32", "[1]", "[4,8]") + "}",
                      std::string(8, 'x')),
                 R"(tensor "w": the name appears twice in the header)");
  ExpectDataLoss(
      File(R"({"w": {"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", "abcd"),
      R"(tensor "w": the key "dtype" appears twice)");
  ExpectDataLoss(File(R"({"__metadata__": {"k": "a", "k": "b"}})"),
                 R"(__metadata__: the key "k" appears twice)");
}

TEST(SafetensorsHostileTest, QuotesHostileNamesInMessages) {
  const std::string bytes = File("{\"a\\n\\u0000\\\"b\": 1}");
  auto file = SafetensorsFile::Parse(bytes, static_cast<int64_t>(bytes.size()));
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find(R"(tensor "a\n\u0000\"b")"), std::string::npos)
      << file.status().message();
  const std::string long_name(100'000, 'n');
  auto long_file = File(R"({")" + long_name + R"(": 1})");
  auto refused = SafetensorsFile::Parse(long_file, static_cast<int64_t>(long_file.size()));
  EXPECT_LT(refused.status().message().size(), 300u);
}

TEST(SafetensorsHostileTest, AcceptsWhatTheSpecificationAllows) {
  // Padding, no tensors, null metadata, empty tensors at one offset, a
  // scalar, unknown fields in an entry (serde ignores them), tensors listed
  // out of file order.
  const std::string header =
      R"({"__metadata__": null, "z": )" + Entry("F32", "[]", "[0,4]") + R"(, "e1": )" +
      Entry("F16", "[0,5]", "[4,4]") + R"(, "e0": )" + Entry("I8", "[3,0]", "[4,4]") +
      R"(, "b": {"dtype":"BOOL","shape":[2],"data_offsets":[4,6],"extra":[1]}})" + "    ";
  const std::string bytes = File(header, "abcdef");
  auto file = SafetensorsFile::Parse(bytes, static_cast<int64_t>(bytes.size()));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_EQ(file->tensors().size(), 4u);
  EXPECT_EQ(file->tensors()[0].name, "z");
  EXPECT_EQ(file->tensors()[1].name, "e0");  // empty, same offset: by name
  EXPECT_EQ(file->tensors()[3].name, "b");
  EXPECT_EQ(file->Find("b")->begin_offset, 8 + static_cast<int64_t>(header.size()) + 4);
  EXPECT_EQ(file->Find("e1")->num_elements, 0);
  EXPECT_TRUE(file->metadata().empty());
  EXPECT_EQ(file->ReadTensorBytes("z").status().code(), StatusCode::kFailedPrecondition);
  auto empty = SafetensorsFile::Parse(File("{}      "), 16);
  EXPECT_TRUE(empty.ok()) << empty.status().ToString();
  // Only the header is needed, not the data.
  EXPECT_TRUE(
      SafetensorsFile::Parse(bytes.substr(0, 8 + header.size()), static_cast<int64_t>(bytes.size()))
          .ok());
  EXPECT_EQ(SafetensorsFile::Parse(bytes.substr(0, 12), static_cast<int64_t>(bytes.size()))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(SafetensorsHostileTest, RecognizesEveryDtypeOfTheSpecification) {
  const std::map<std::string, int> bits = {
      {"BOOL", 8}, {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6},     {"U8", 8},
      {"I8", 8},   {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8},     {"I16", 16},
      {"U16", 16}, {"F16", 16},    {"BF16", 16},   {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8},
      {"I32", 32}, {"U32", 32},    {"F32", 32},    {"C64", 64},        {"F64", 64},
      {"I64", 64}, {"U64", 64}};
  for (const auto& [name, b] : bits) {
    SafetensorsDtype dtype;
    ASSERT_TRUE(ParseSafetensorsDtype(name, &dtype)) << name;
    EXPECT_EQ(SafetensorsDtypeName(dtype), name);
    EXPECT_EQ(SafetensorsDtypeBits(dtype), b) << name;
    // Eight elements, a whole number of bytes for every dtype.
    const std::string bytes =
        File(R"({"t": )" + Entry(name, "[8]", "[0," + std::to_string(b) + "]") + "}",
             std::string(static_cast<size_t>(b), 'x'));
    auto file = SafetensorsFile::Parse(bytes, static_cast<int64_t>(bytes.size()));
    EXPECT_TRUE(file.ok()) << name << ": " << file.status().ToString();
  }
  SafetensorsDtype dtype;
  EXPECT_FALSE(ParseSafetensorsDtype("F8", &dtype));
}

TEST(SafetensorsHostileTest, ConvertsHalfAndBFloat16Exactly) {
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(HalfToFloat(0x0001), 0x1p-24f);  // the smallest subnormal
  EXPECT_EQ(HalfToFloat(0x03ff), 1023 * 0x1p-24f);
  EXPECT_EQ(std::bit_cast<uint32_t>(HalfToFloat(0x8000)), 0x80000000u);
  EXPECT_TRUE(std::isinf(HalfToFloat(0xfc00)) && HalfToFloat(0xfc00) < 0);
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7e00)));
  EXPECT_EQ(BFloat16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(SafetensorsToFloat32(SafetensorsDtype::kF16, "abc").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SafetensorsToFloat32(SafetensorsDtype::kI32, "abcd").status().code(),
            StatusCode::kInvalidArgument);
}

// ---- Files on disk ---------------------------------------------------------

using SafetensorsFilesTest = SafetensorsDirTest;

TEST_F(SafetensorsFilesTest, OpenNamesTheFileAndReadsOnlyTheHeader) {
  EXPECT_EQ(SafetensorsFile::Open((dir_ / "absent.safetensors").string()).status().code(),
            StatusCode::kNotFound);
  const std::string path = (dir_ / "bad.safetensors").string();
  WriteAll(path, File(R"({"w": )" + Entry("F3", "[1]", "[0,4]") + "}", "abcd"));
  auto bad = SafetensorsFile::Open(path);
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(bad.status().message(), path + R"(: tensor "w": unknown dtype "F3")");
  WriteAll(path, "abc");
  EXPECT_EQ(SafetensorsFile::Open(path).status().message(),
            path + ": the file is 3 bytes, shorter than the 8-byte header length");

  WriteShard("m.safetensors", {"a", "b"});
  auto file = SafetensorsFile::Open((dir_ / "m.safetensors").string());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->ReadTensorBytes("b").value(), std::string(8, '\0'));
  EXPECT_EQ(file->ReadFloat32("a").value(), (std::vector<float>{0.f, 0.f}));
  // Cut after Open: reading finds out, it does not read past the end.
  fs::resize_file(dir_ / "m.safetensors", fs::file_size(dir_ / "m.safetensors") - 4);
  auto cut = file->ReadTensorBytes("b");
  EXPECT_EQ(cut.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(cut.status().message().find(R"(tensor "b")"), std::string::npos)
      << cut.status().message();
}

}  // namespace
}  // namespace kdnas::safetensors_test
