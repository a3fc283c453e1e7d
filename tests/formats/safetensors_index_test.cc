// SafetensorsCheckpoint on shards and indexes built here: what it opens and
// every disagreement between an index and its shards it refuses.
#include "formats/safetensors_index.h"

#include <gtest/gtest.h>

#include "tests/formats/safetensors_test_util.h"

namespace kdnas::safetensors_test {
namespace {

using SafetensorsCheckpointTest = SafetensorsDirTest;

TEST_F(SafetensorsCheckpointTest, OpensAShardedCheckpoint) {
  WriteShard("model-00001-of-00002.safetensors", {"a", "b"});
  WriteShard("model-00002-of-00002.safetensors", {"c"});
  WriteIndex({{"a", "model-00001-of-00002.safetensors"},
              {"b", "model-00001-of-00002.safetensors"},
              {"c", "model-00002-of-00002.safetensors"}});
  auto checkpoint = SafetensorsCheckpoint::Open(dir_.string());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().ToString();
  ASSERT_EQ(checkpoint->tensors().size(), 3u);
  EXPECT_EQ(checkpoint->Find("c")->shard, 1u);
  EXPECT_EQ(checkpoint->index()->total_size_bytes, 16);
  EXPECT_EQ(checkpoint->ReadFloat32("c").value().size(), 2u);
  EXPECT_EQ(checkpoint->ReadFloat32("d").status().code(), StatusCode::kNotFound);
}

TEST_F(SafetensorsCheckpointTest, RefusesAMissingShard) {
  WriteShard("model-00001-of-00002.safetensors", {"a"});
  WriteIndex(
      {{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00002-of-00002.safetensors"}});
  ExpectRefused(StatusCode::kNotFound,
                {kSafetensorsIndexFileName.data(),
                 R"(the shard "model-00002-of-00002.safetensors" of tensor "b")"});
}

TEST_F(SafetensorsCheckpointTest, RefusesATensorAbsentFromItsShard) {
  WriteShard("s1.safetensors", {"a"});
  WriteIndex({{"a", "s1.safetensors"}, {"ghost", "s1.safetensors"}});
  ExpectRefused(
      StatusCode::kDataLoss,
      {R"(tensor "ghost": the weight_map puts it in "s1.safetensors" but that shard has no such tensor)"});
}

TEST_F(SafetensorsCheckpointTest, RefusesATensorInAnotherShardThanTheIndexSays) {
  WriteShard("s1.safetensors", {"a"});
  WriteShard("s2.safetensors", {"b"});
  WriteIndex({{"a", "s2.safetensors"}, {"b", "s1.safetensors"}});
  ExpectRefused(
      StatusCode::kDataLoss,
      {R"(tensor "a" is in the shard "s1.safetensors" but the weight_map puts it in "s2.safetensors")"});
}

TEST_F(SafetensorsCheckpointTest, RefusesATensorInTwoShards) {
  WriteShard("s1.safetensors", {"a", "b"});
  WriteShard("s2.safetensors", {"b"});
  WriteIndex({{"a", "s1.safetensors"}, {"b", "s2.safetensors"}});
  ExpectRefused(StatusCode::kDataLoss,
                {R"(tensor "b" is in two shards, "s1.safetensors" and "s2.safetensors")"});
}

TEST_F(SafetensorsCheckpointTest, RefusesATensorInAShardButNotInTheIndex) {
  WriteShard("s1.safetensors", {"a", "extra"});
  WriteIndex({{"a", "s1.safetensors"}});
  ExpectRefused(StatusCode::kDataLoss,
                {R"(tensor "extra" is in the shard "s1.safetensors" but not in the weight_map)"});
}

TEST_F(SafetensorsCheckpointTest, RefusesShardNamesOutsideTheDirectory) {
  fs::create_directories(dir_ / "sub");
  WriteShard("sub/s1.safetensors", {"a"});
  for (const std::string& name :
       std::vector<std::string>{"../s1.safetensors", "sub/s1.safetensors", "/etc/passwd", "..", "",
                                "s1\\..\\x", std::string("s1\0x", 4)}) {
    SCOPED_TRACE(name);
    WriteIndex({{"a", name}});
    ExpectRefused(StatusCode::kDataLoss, {R"(tensor "a": the shard )", "is not a plain file name"});
  }
}

TEST_F(SafetensorsCheckpointTest, RefusesABadIndex) {
  WriteShard("s1.safetensors", {"a"});
  const std::string index = (dir_ / kSafetensorsIndexFileName).string();
  WriteAll(index, R"({"weight_map": {"a": "s1.safetensors", "a": "s1.safetensors"}})");
  ExpectRefused(StatusCode::kDataLoss, {index + R"(: tensor "a" appears twice in the weight_map)"});
  WriteAll(index, R"({"weight_map": {"a": 1}})");
  ExpectRefused(StatusCode::kDataLoss, {R"(tensor "a": its shard is an integer)"});
  WriteAll(index, R"({"metadata": {"total_size": -1}, "weight_map": {}})");
  ExpectRefused(StatusCode::kDataLoss, {R"("total_size" is -1)"});
  WriteAll(index, R"({"metadata": {}})");
  ExpectRefused(StatusCode::kDataLoss, {R"(no "weight_map")"});
  WriteAll(index, R"({"weight_map": )");
  ExpectRefused(StatusCode::kDataLoss, {"not valid JSON"});
  // A defect in a shard is reported with the shard's path.
  WriteAll(dir_ / "s1.safetensors", File(R"({"a": )" + Entry("F32", "[2]", "[0,4]") + "}", "abcd"));
  WriteAll(index, R"({"weight_map": {"a": "s1.safetensors"}})");
  ExpectRefused(StatusCode::kDataLoss,
                {(dir_ / "s1.safetensors").string() + R"(: tensor "a": shape [2])"});
  fs::remove(index);
  ExpectRefused(StatusCode::kNotFound,
                {"neither model.safetensors nor model.safetensors.index.json"});
}

}  // namespace
}  // namespace kdnas::safetensors_test
