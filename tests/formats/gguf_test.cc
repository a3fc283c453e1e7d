// The GGUF writer and reader against each other, and against llama.cpp's own
// parser and writer (the prebuilt libggml-base.so of deploy/npm, declared
// here by hand so no ggml header is needed): llama.cpp must accept what we
// write, agree on every key, name, type and offset, and rewrite it to the
// same bytes; and hostile files must be refused by both, without crashing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"

extern "C" {
struct gguf_context;
struct ggml_context;
struct ggml_tensor;
struct gguf_init_params {
  bool no_alloc;
  struct ggml_context** ctx;
};
gguf_context* gguf_init_from_file(const char* fname, gguf_init_params params);
gguf_context* gguf_init_empty(void);
void gguf_free(gguf_context* ctx);
uint32_t gguf_get_version(const gguf_context* ctx);
size_t gguf_get_alignment(const gguf_context* ctx);
size_t gguf_get_data_offset(const gguf_context* ctx);
int64_t gguf_get_n_kv(const gguf_context* ctx);
int64_t gguf_find_key(const gguf_context* ctx, const char* key);
const char* gguf_get_key(const gguf_context* ctx, int64_t key_id);
int gguf_get_kv_type(const gguf_context* ctx, int64_t key_id);   // enum gguf_type
int gguf_get_arr_type(const gguf_context* ctx, int64_t key_id);  // enum gguf_type
uint32_t gguf_get_val_u32(const gguf_context* ctx, int64_t key_id);
const char* gguf_get_val_str(const gguf_context* ctx, int64_t key_id);
const void* gguf_get_val_data(const gguf_context* ctx, int64_t key_id);
size_t gguf_get_arr_n(const gguf_context* ctx, int64_t key_id);
const void* gguf_get_arr_data(const gguf_context* ctx, int64_t key_id);
const char* gguf_get_arr_str(const gguf_context* ctx, int64_t key_id, size_t i);
int64_t gguf_get_n_tensors(const gguf_context* ctx);
size_t gguf_get_tensor_offset(const gguf_context* ctx, int64_t tensor_id);
const char* gguf_get_tensor_name(const gguf_context* ctx, int64_t tensor_id);
const int64_t* gguf_get_tensor_ne(const gguf_context* ctx, int64_t tensor_id);
int gguf_get_tensor_type(const gguf_context* ctx, int64_t tensor_id);  // enum ggml_type
size_t gguf_get_tensor_size(const gguf_context* ctx, int64_t tensor_id);
void gguf_set_kv(gguf_context* ctx, const gguf_context* src);
void gguf_add_tensor(gguf_context* ctx, const ggml_tensor* tensor);
bool gguf_write_to_file(const gguf_context* ctx, const char* fname, bool only_meta);
ggml_tensor* ggml_get_tensor(ggml_context* ctx, const char* name);
void ggml_free(ggml_context* ctx);
void ggml_log_set(void (*callback)(int level, const char* text, void* user), void* user);
}

namespace kdnas {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

struct TestTensor {
  std::string name;
  std::vector<int64_t> shape;
  GgmlType type;
  std::string bytes;
};

// One tensor of every type kdnas writes, random bytes of the right length.
std::vector<TestTensor> SampleTensors() {
  std::vector<TestTensor> tensors = {{"token_embd.weight", {256, 7}, GgmlType::kQ4_K, ""},
                                     {"blk.0.attn_q.weight", {64, 3, 2}, GgmlType::kQ8_0, ""},
                                     {"blk.0.ffn_norm.weight", {33}, GgmlType::kF32, ""},
                                     {"blk.0.ffn_up.weight", {256, 2}, GgmlType::kQ6_K, ""},
                                     {"blk.0.ffn_down.weight", {32, 1, 2, 3}, GgmlType::kQ4_0, ""},
                                     {"f16", {5, 3}, GgmlType::kF16, ""},
                                     {"bf16", {7}, GgmlType::kBF16, ""},
                                     {"q4_1", {32, 2}, GgmlType::kQ4_1, ""},
                                     {"q5_0", {64}, GgmlType::kQ5_0, ""},
                                     {"q5_1", {32}, GgmlType::kQ5_1, ""},
                                     {"q2_k", {256}, GgmlType::kQ2_K, ""},
                                     {"q3_k", {512, 2}, GgmlType::kQ3_K, ""},
                                     {"q5_k", {256, 3}, GgmlType::kQ5_K, ""}};
  std::mt19937 rng(7);
  for (TestTensor& t : tensors) {
    t.bytes.resize(static_cast<size_t>(GgufTensorBytes(t.type, t.shape)));
    for (char& c : t.bytes) c = static_cast<char>(rng());
  }
  return tensors;
}

// A value of every scalar type and an array of every type.
GgufMetadata SampleMetadata() {
  return {{"general.architecture", std::string("llama")},
          {"u8", uint8_t{200}},
          {"i8", int8_t{-100}},
          {"u16", uint16_t{60000}},
          {"i16", int16_t{-30000}},
          {"u32", uint32_t{4000000000u}},
          {"i32", int32_t{-2000000000}},
          {"f32", 3.25f},
          {"bool", true},
          {"str", std::string("h\xc3\xa9llo w\xc3\xb6rld")},
          {"empty_str", std::string()},
          {"u64", (uint64_t{1} << 63) | 5},
          {"i64", -(int64_t{1} << 62)},
          {"f64", -1.5e300},
          {"a.u8", std::vector<uint8_t>{1, 2, 255}},
          {"a.i8", std::vector<int8_t>{-1, 0, 127}},
          {"a.u16", std::vector<uint16_t>{65535, 7}},
          {"a.i16", std::vector<int16_t>{-32768}},
          {"a.u32", std::vector<uint32_t>{1, 2, 3, 4}},
          {"a.i32", std::vector<int32_t>{}},
          {"a.f32", std::vector<float>{0.5f, -0.0f, 1e30f}},
          {"a.bool", std::vector<bool>{true, false, true}},
          {"a.str", std::vector<std::string>{"a", "", "\xc3\xbc", "<|endoftext|>"}},
          {"a.u64", std::vector<uint64_t>{~uint64_t{0}}},
          {"a.i64", std::vector<int64_t>{-1, INT64_MAX}},
          {"a.f64", std::vector<double>{3.141592653589793, -2.5}}};
}

GgufWriter SampleWriter(const GgufMetadata& metadata = SampleMetadata()) {
  GgufWriter w;
  for (const GgufKeyValue& kv : metadata) EXPECT_TRUE(w.AddMetadata(kv.key, kv.value).ok());
  for (const TestTensor& t : SampleTensors()) {
    const Status s = w.AddTensor(t.name, t.shape, t.type, t.bytes);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return w;
}

std::vector<GgufTensorInfo> Infos(const std::vector<TestTensor>& tensors) {
  std::vector<GgufTensorInfo> infos;
  for (const TestTensor& t : tensors) infos.push_back({t.name, t.shape, t.type, 0});
  return infos;
}

// The last message llama.cpp logged (it logs why it refuses a file).
std::string* llama_log = new std::string;

class GgufTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ggml_log_set([](int, const char* text, void*) { *llama_log += text; }, nullptr);
    dir_ = fs::temp_directory_path() / ("kdnas-gguf-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Path(const std::string& name) const { return dir_ / name; }

  // Whether llama.cpp reads `bytes` as a GGUF file, tensor data included.
  bool LlamaAccepts(const std::string& bytes) {
    WriteAll(Path("llama.gguf"), bytes);
    llama_log->clear();
    ggml_context* data = nullptr;
    gguf_context* ctx = gguf_init_from_file(Path("llama.gguf").c_str(), {false, &data});
    if (ctx != nullptr) gguf_free(ctx);
    if (data != nullptr) ggml_free(data);
    return ctx != nullptr;
  }

  fs::path dir_;
};

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

// llama.cpp's value of key `i` is `value`, of the same type.
void ExpectLlamaValue(const gguf_context* c, int64_t i, const GgufValue& value) {
  ASSERT_EQ(gguf_get_kv_type(c, i), static_cast<int>(GgufTypeOf(value)));
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (IsVector<V>::value) {
          ASSERT_EQ(gguf_get_arr_type(c, i), static_cast<int>(GgufElementTypeOf(value)));
          ASSERT_EQ(gguf_get_arr_n(c, i), v.size());
        }
        if constexpr (std::is_same_v<V, std::vector<std::string>>) {
          for (size_t k = 0; k < v.size(); ++k) EXPECT_EQ(gguf_get_arr_str(c, i, k), v[k]);
        } else if constexpr (IsVector<V>::value) {
          const auto* data = static_cast<const char*>(gguf_get_arr_data(c, i));
          for (size_t k = 0; k < v.size(); ++k) {
            typename V::value_type element;  // bools are one byte, 0 or 1, in llama.cpp too
            std::memcpy(&element, data + k * sizeof(element), sizeof(element));
            EXPECT_EQ(element, v[k]) << "element " << k;
          }
        } else if constexpr (std::is_same_v<V, std::string>) {
          EXPECT_EQ(gguf_get_val_str(c, i), v);
        } else {
          V scalar;  // gguf_get_val_u8 ... _f64, by their common path
          std::memcpy(&scalar, gguf_get_val_data(c, i), sizeof(scalar));
          EXPECT_EQ(scalar, v);
        }
      },
      value);
}

// llama.cpp reads the file at `path` as `layout` says, key by key and tensor
// by tensor, and (with the default alignment) rewrites it to the same bytes.
void ExpectLlamaAgrees(const fs::path& path, const GgufMetadata& metadata, const GgufLayout& layout,
                       const fs::path& rewrite) {
  ggml_context* data = nullptr;
  gguf_context* c = gguf_init_from_file(path.c_str(), {false, &data});
  ASSERT_NE(c, nullptr) << *llama_log;
  EXPECT_EQ(gguf_get_version(c), 3u);
  EXPECT_EQ(gguf_get_alignment(c), layout.alignment);
  const int64_t alignment_key = gguf_find_key(c, "general.alignment");
  if (alignment_key >= 0) {
    EXPECT_EQ(gguf_get_val_u32(c, alignment_key), layout.alignment);
  }
  ASSERT_EQ(gguf_get_n_kv(c), static_cast<int64_t>(metadata.size()));
  for (size_t i = 0; i < metadata.size(); ++i) {
    SCOPED_TRACE(metadata[i].key);
    EXPECT_EQ(gguf_get_key(c, static_cast<int64_t>(i)), metadata[i].key);
    EXPECT_EQ(gguf_find_key(c, metadata[i].key.c_str()), static_cast<int64_t>(i));
    ExpectLlamaValue(c, static_cast<int64_t>(i), metadata[i].value);
  }
  ASSERT_EQ(gguf_get_n_tensors(c), static_cast<int64_t>(layout.tensors.size()));
  if (!layout.tensors.empty()) {
    EXPECT_EQ(static_cast<int64_t>(gguf_get_data_offset(c)), layout.data_offset);
  }
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    const GgufTensorInfo& t = layout.tensors[i];
    const auto id = static_cast<int64_t>(i);
    EXPECT_EQ(gguf_get_tensor_name(c, id), t.name);
    EXPECT_EQ(gguf_get_tensor_type(c, id), static_cast<int>(t.type)) << t.name;
    EXPECT_EQ(gguf_get_tensor_offset(c, id), t.offset) << t.name;
    EXPECT_EQ(static_cast<int64_t>(gguf_get_tensor_size(c, id)), GgufTensorBytes(t.type, t.shape));
    const int64_t* ne = gguf_get_tensor_ne(c, id);
    for (size_t d = 0; d < 4; ++d) EXPECT_EQ(ne[d], d < t.shape.size() ? t.shape[d] : 1);
  }
  if (!rewrite.empty()) {
    gguf_context* copy = gguf_init_empty();
    gguf_set_kv(copy, c);
    for (const GgufTensorInfo& t : layout.tensors)
      gguf_add_tensor(copy, ggml_get_tensor(data, t.name.c_str()));
    ASSERT_TRUE(gguf_write_to_file(copy, rewrite.c_str(), false));
    gguf_free(copy);
    EXPECT_TRUE(ReadAll(rewrite) == ReadAll(path)) << "llama.cpp rewrites the file differently";
  }
  gguf_free(c);
  ggml_free(data);
}

TEST_F(GgufTest, RoundTripsEveryValueTypeAndTensorType) {
  const GgufWriter w = SampleWriter();
  const StatusOr<std::string> bytes = w.WriteString();
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  ASSERT_TRUE(w.WriteFile(Path("m.gguf")).ok());
  EXPECT_TRUE(ReadAll(Path("m.gguf")) == *bytes);
  EXPECT_FALSE(fs::exists(Path("m.gguf.tmp")));

  for (const bool from_file : {false, true}) {
    SCOPED_TRACE(from_file ? "ReadGgufFile" : "ParseGguf");
    StatusOr<GgufFile> f = from_file ? ReadGgufFile(Path("m.gguf")) : ParseGguf(*bytes);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(f->version, 3u);
    EXPECT_EQ(f->alignment, 32u);
    EXPECT_EQ(f->metadata, SampleMetadata());
    EXPECT_EQ(f->file_size_bytes, static_cast<int64_t>(bytes->size()));
    EXPECT_EQ(f->tensors, w.Layout()->tensors);
    EXPECT_EQ(f->data_offset, w.Layout()->data_offset);
    for (const TestTensor& t : SampleTensors()) {
      StatusOr<std::string> read = f->ReadTensorBytes(Path("m.gguf"), t.name);
      ASSERT_TRUE(read.ok()) << read.status().ToString();
      EXPECT_TRUE(*read == t.bytes) << t.name;
      EXPECT_TRUE(*f->TensorBytes(*bytes, t.name) == t.bytes) << t.name;
      EXPECT_EQ(f->TensorBegin(*f->FindTensor(t.name)) % 32, 0) << t.name;
    }
    EXPECT_EQ(f->TensorBytes(*bytes, "nope").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(std::get<std::string>(*f->FindMetadata("general.architecture")), "llama");
  }
  EXPECT_EQ(ReadGgufFile(Path("absent.gguf")).status().code(), StatusCode::kNotFound);
}

TEST_F(GgufTest, LlamaCppReadsAndRewritesOurFile) {
  const GgufWriter w = SampleWriter();
  ASSERT_TRUE(w.WriteFile(Path("m.gguf")).ok());
  ExpectLlamaAgrees(Path("m.gguf"), SampleMetadata(), *w.Layout(), Path("rewritten.gguf"));
}

TEST_F(GgufTest, WeReadWhatLlamaCppWrites) {
  // No tensors (only_meta): the header alone, padded as llama.cpp pads it.
  WriteAll(Path("ours.gguf"), *SampleWriter(SampleMetadata()).WriteString());
  gguf_context* c = gguf_init_from_file(Path("ours.gguf").c_str(), {true, nullptr});
  ASSERT_NE(c, nullptr);
  gguf_context* copy = gguf_init_empty();
  gguf_set_kv(copy, c);
  ASSERT_TRUE(gguf_write_to_file(copy, Path("llama.gguf").c_str(), /*only_meta=*/true));
  gguf_free(copy);
  gguf_free(c);
  StatusOr<GgufFile> f = ReadGgufFile(Path("llama.gguf"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->metadata, SampleMetadata());
  GgufWriter metadata_only;
  for (const GgufKeyValue& kv : SampleMetadata())
    ASSERT_TRUE(metadata_only.AddMetadata(kv.key, kv.value).ok());
  EXPECT_TRUE(*metadata_only.WriteString() == ReadAll(Path("llama.gguf")));
}

TEST_F(GgufTest, PredictsTheFileSizeToTheByte) {
  const std::vector<TestTensor> tensors = SampleTensors();
  for (const uint32_t alignment : {1u, 2u, 8u, 32u, 64u, 256u, 4096u}) {
    for (const bool key_first : {true, false}) {
      SCOPED_TRACE("alignment " + std::to_string(alignment));
      GgufMetadata metadata = SampleMetadata();
      const GgufKeyValue key{std::string(kGgufAlignmentKey), alignment};
      metadata.insert(key_first ? metadata.begin() : metadata.end(), key);
      const StatusOr<int64_t> predicted = GgufFileBytes(metadata, Infos(tensors));
      ASSERT_TRUE(predicted.ok()) << predicted.status().ToString();
      const GgufWriter w = SampleWriter(metadata);
      ASSERT_TRUE(w.WriteFile(Path("a.gguf")).ok());
      EXPECT_EQ(static_cast<int64_t>(fs::file_size(Path("a.gguf"))), *predicted);
      EXPECT_EQ(static_cast<int64_t>(w.WriteString()->size()), *predicted);
      const GgufLayout layout = *w.Layout();
      EXPECT_EQ(layout.alignment, alignment);
      for (const GgufTensorInfo& t : layout.tensors) EXPECT_EQ(t.offset % alignment, 0u);
      ExpectLlamaAgrees(Path("a.gguf"), metadata, layout, "");
      StatusOr<GgufFile> f = ReadGgufFile(Path("a.gguf"));
      ASSERT_TRUE(f.ok()) << f.status().ToString();
      EXPECT_EQ(f->alignment, alignment);
      EXPECT_EQ(f->tensors, layout.tensors);
    }
  }
  // An empty file is its 24-byte header padded to 32.
  EXPECT_EQ(*GgufFileBytes({}, {}), 32);
  EXPECT_EQ(GgufWriter().WriteString()->size(), 32u);
}

TEST_F(GgufTest, StreamsTensorBytesFromASource) {
  GgufWriter w;
  int calls = 0;
  const TestTensor t = SampleTensors()[0];
  ASSERT_TRUE(w.AddTensor(t.name, t.shape, t.type, [&]() -> StatusOr<std::string> {
                 ++calls;
                 return t.bytes;
               }).ok());
  GgufWriter same;
  ASSERT_TRUE(same.AddTensor(t.name, t.shape, t.type, t.bytes).ok());
  EXPECT_TRUE(*w.WriteString() == *same.WriteString());
  EXPECT_EQ(calls, 1);

  GgufWriter short_source;
  ASSERT_TRUE(short_source
                  .AddTensor("w", {32}, GgmlType::kQ8_0,
                             [] { return StatusOr<std::string>(std::string(33, 'x')); })
                  .ok());
  const Status s = short_source.WriteFile(Path("short.gguf"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("the source gave 33 bytes, not 34"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(Path("short.gguf")));
  EXPECT_FALSE(fs::exists(Path("short.gguf.tmp")));

  GgufWriter failing;
  ASSERT_TRUE(failing
                  .AddTensor("w", {32}, GgmlType::kQ8_0,
                             [] { return StatusOr<std::string>(Unavailable("quantizer died")); })
                  .ok());
  EXPECT_EQ(failing.WriteFile(Path("f.gguf")).ToString(),
            "UNAVAILABLE: " + Path("f.gguf").string() + ": quantizer died");
}

TEST_F(GgufTest, WriterRefusesBadInput) {
  const auto message = [](const Status& s) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    return s.message();
  };
  GgufWriter w;
  ASSERT_TRUE(w.AddMetadata("k", 1).ok());
  EXPECT_EQ(message(w.AddMetadata("k", 2)), "GGUF metadata \"k\": the key repeats");
  EXPECT_EQ(message(w.AddMetadata("", 2)), "GGUF metadata: a key is empty");
  EXPECT_EQ(message(w.AddMetadata("general.alignment", uint64_t{32})),
            "GGUF metadata \"general.alignment\": must be a u32, not u64");
  EXPECT_EQ(message(w.AddMetadata("general.alignment", 48u)),
            "GGUF metadata \"general.alignment\": 48 is not a power of two");
  ASSERT_TRUE(w.AddTensor("t", {32}, GgmlType::kQ8_0, std::string(34, 'x')).ok());
  EXPECT_EQ(message(w.AddTensor("t", {32}, GgmlType::kQ8_0, std::string(34, 'x'))),
            "GGUF tensor \"t\": the name repeats");
  EXPECT_EQ(message(w.AddTensor("u", {32}, GgmlType::kQ8_0, std::string(35, 'x'))),
            "GGUF tensor \"u\": 35 bytes, but a q8_0 tensor of this shape has 34");
  EXPECT_EQ(message(w.AddTensor("u", {100, 2}, GgmlType::kQ4_K, "")),
            "GGUF tensor \"u\": a row of 100 values is not a whole number of q4_k blocks of 256");
  EXPECT_EQ(message(w.AddTensor("u", {1, 1, 1, 1, 1}, GgmlType::kF32, "")),
            "GGUF tensor \"u\": 5 dimensions, more than 4");
  EXPECT_EQ(message(w.AddTensor("u", {4, 0}, GgmlType::kF32, "")),
            "GGUF tensor \"u\": dimension 1 is 0, not positive");
  EXPECT_NE(message(w.AddTensor(std::string(64, 'n'), {1}, GgmlType::kF32, "1234"))
                .find("the name is 64 bytes, more than the 63 llama.cpp reads"),
            std::string::npos);
  EXPECT_TRUE(w.AddTensor(std::string(63, 'n'), {1}, GgmlType::kF32, "1234").ok());
  EXPECT_EQ(GgufFileBytes({{"k", 1}, {"k", 2}}, {}).status().message(),
            "GGUF metadata \"k\": the key repeats");
  EXPECT_FALSE(
      GgufFileBytes({}, {{"a", {256}, GgmlType::kQ6_K, 0}, {"a", {1}, GgmlType::kF32, 0}}).ok());
}

// A small valid file and where its fields are, for the hostile variants.
class GgufHostileTest : public GgufTest {
 protected:
  void SetUp() override {
    GgufTest::SetUp();
    GgufWriter w;
    ASSERT_TRUE(w.AddMetadata("k1", std::string("v")).ok());
    ASSERT_TRUE(w.AddMetadata("k2", std::vector<std::string>{"x", "y"}).ok());
    ASSERT_TRUE(w.AddMetadata("general.alignment", 32u).ok());
    ASSERT_TRUE(w.AddTensor("a", {8}, GgmlType::kF32, std::string(32, '\1')).ok());
    ASSERT_TRUE(w.AddTensor("b", {32, 2}, GgmlType::kQ8_0, std::string(68, '\2')).ok());
    ASSERT_TRUE(w.AddTensor("c", {3}, GgmlType::kF16, std::string(6, '\3')).ok());
    file_ = *w.WriteString();
    layout_ = *w.Layout();
    ASSERT_TRUE(ParseGguf(file_).ok());
    ASSERT_TRUE(LlamaAccepts(file_)) << *llama_log;
  }
  // Where tensor `name`'s info starts after its name (at n_dims).
  size_t Info(const std::string& name) const {
    std::string field(8, '\0');
    field[0] = static_cast<char>(name.size());
    field += name;
    return file_.find(field, 24 + 4) + field.size();
  }
  static void Put(std::string* s, size_t at, uint64_t v, int width) {
    for (int i = 0; i < width; ++i) (*s)[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  // `bytes` is refused by us with a DATA_LOSS message containing `expected`,
  // and by llama.cpp if `llama_refuses`.
  void ExpectRefused(const std::string& bytes, const std::string& expected, bool llama_refuses) {
    const StatusOr<GgufFile> f = ParseGguf(bytes);
    ASSERT_FALSE(f.ok()) << expected;
    EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(f.status().message().find(expected), std::string::npos) << f.status().message();
    if (llama_refuses) {
      EXPECT_FALSE(LlamaAccepts(bytes)) << expected;
    }
  }

  std::string file_;
  GgufLayout layout_;
};

TEST_F(GgufHostileTest, RefusesEachDefectByName) {
  std::string s = file_;
  s.replace(0, 4, "GGML");
  ExpectRefused(s, "bad magic \"GGML\"", true);
  s = file_, Put(&s, 4, 1, 4);
  ExpectRefused(s, "version 1 is not supported", true);
  s = file_, Put(&s, 4, 0x03000000, 4);
  ExpectRefused(s, "a big-endian file", true);
  s = file_, Put(&s, 8, 4, 8);
  ExpectRefused(s, "tensor 3 (of n_tensors 4): the name is empty", true);
  s = file_, Put(&s, 8, 2, 8);
  ExpectRefused(s, "bytes follow the last tensor and its padding; is n_tensors (2) right?", false);
  s = file_, Put(&s, 16, uint64_t{1} << 60, 8);
  ExpectRefused(s, "n_kv is 1152921504606846976, but the", true);
  s = file_, Put(&s, 24, uint64_t{1} << 40, 8);
  ExpectRefused(s, "metadata key 0: string length 1099511627776 runs past the end of the file",
                true);
  s = file_, Put(&s, 24 + 8 + 2 + 4, 1000, 8);
  ExpectRefused(s, "metadata \"k1\": string length 1000 runs past the end", true);
  s = file_, Put(&s, 24 + 8 + 2, 13, 4);
  ExpectRefused(s, "metadata \"k1\": unknown value type 13", true);
  s = file_;
  s.replace(file_.find("k2"), 2, "k1");
  ExpectRefused(s, "metadata \"k1\": the key repeats", true);
  s = file_, Put(&s, file_.find("general.alignment") + 17 + 4, 48, 4);
  ExpectRefused(s, "\"general.alignment\": 48 is not a power of two", true);
  s = file_, Put(&s, Info("b") + 24, layout_.tensors[1].offset + 1, 8);
  ExpectRefused(s, "tensor \"b\": offset 33 is not a multiple of the alignment 32", true);
  s = file_, Put(&s, Info("c") + 16, layout_.tensors[1].offset, 8);
  ExpectRefused(s, "tensors \"b\" and \"c\" overlap: data offsets [32, 100) and [32, ...)", true);
  s = file_, Put(&s, Info("c") + 16, 1 << 20, 8);
  ExpectRefused(s, "tensor \"c\": its 6 bytes at data offset 1048576 run past the end", true);
  s = file_, Put(&s, Info("b") + 20, 99, 4);
  ExpectRefused(s, "tensor \"b\": unknown ggml type 99", true);
  s = file_, Put(&s, Info("b") + 20, 16, 4);  // iq2_xxs: ggml's, not kdnas's
  ExpectRefused(s, "tensor \"b\": unknown ggml type 16", false);
  s = file_, Put(&s, Info("b"), 5, 4);
  ExpectRefused(s, "tensor \"b\": n_dims is 5, more than 4", true);
  s = file_, Put(&s, Info("b") + 4, 48, 8);
  ExpectRefused(s, "tensor \"b\": a row of 48 values is not a whole number of q8_0 blocks", true);
  s = file_, Put(&s, Info("b") + 4 + 8, 0, 8);
  ExpectRefused(s, "tensor \"b\": dimension 1 is 0, not positive", false);
  s = file_, s[Info("b") - 1] = 'a';
  ExpectRefused(s, "tensor 1 \"a\": the name repeats", true);
  ExpectRefused(file_ + std::string(64, '\0'), "64 bytes follow the last tensor", false);
}

TEST_F(GgufHostileTest, RefusesEveryTruncation) {
  const int64_t data_end =
      layout_.data_offset + static_cast<int64_t>(layout_.tensors[2].offset) + 6;
  for (int64_t n = 0; n < data_end; ++n) {
    const StatusOr<GgufFile> f = ParseGguf(std::string_view(file_).substr(0, n));
    ASSERT_FALSE(f.ok()) << n;
    EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
    const std::string& m = f.status().message();
    EXPECT_TRUE(m.find("the file ends in") != m.npos || m.find("past the end") != m.npos ||
                m.find("bytes that remain hold") != m.npos || m.find("too short") != m.npos)
        << n << ": " << m;
    if (n < layout_.data_offset || n % 16 == 0) {
      EXPECT_FALSE(LlamaAccepts(file_.substr(0, n))) << n;
    }
  }
  // The last tensor's padding is not needed (llama.cpp wants it to load data).
  EXPECT_TRUE(ParseGguf(std::string_view(file_).substr(0, data_end)).ok());
}

TEST_F(GgufHostileTest, SurvivesRandomCorruption) {
  std::mt19937 rng(1);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = file_;
    for (int k = rng() % 4; k >= 0; --k)
      s[rng() % layout_.data_offset] = static_cast<char>(rng() % 3 == 0 ? 0xff : rng());
    const StatusOr<GgufFile> f = ParseGguf(s);
    if (!f.ok()) continue;
    ++accepted;
    for (const GgufTensorInfo& t : f->tensors)
      EXPECT_LE(f->TensorBegin(t) + GgufFile::TensorSize(t), f->file_size_bytes);
  }
  EXPECT_GT(accepted, 0);  // flips inside string values and padding are harmless
}

}  // namespace
}  // namespace kdnas
