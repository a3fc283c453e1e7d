#include "search/sha256.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <utility>

namespace kdnas {
namespace {

TEST(Sha256, MatchesFipsVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>(i * 7);
  for (size_t split : {0, 1, 55, 56, 63, 64, 65, 500}) {
    Sha256 h;
    h.Update(data.substr(0, split));
    h.Update(data.substr(split));
    EXPECT_EQ(h.HexDigest(), Sha256Hex(data)) << split;
  }
}

TEST(Sha256, AMovedHasherGoesOn) {
  Sha256 h;
  h.Update("ab");
  Sha256 moved = std::move(h);
  moved.Update("c");
  EXPECT_EQ(moved.HexDigest(), Sha256Hex("abc"));
}

TEST(Sha256, HashesFilesAndValidatesNames) {
  std::string path = ::testing::TempDir() + "/sha_test.txt";
  std::ofstream(path) << "abc";
  EXPECT_EQ(*Sha256File(path), Sha256Hex("abc"));
  std::string big(3 << 20, 'x');  // more than one read chunk
  big[12345] = 'y';
  std::ofstream(path, std::ios::binary | std::ios::trunc) << big;
  EXPECT_EQ(*Sha256File(path), Sha256Hex(big));
  EXPECT_EQ(Sha256File(path + ".missing").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("x")));
  EXPECT_FALSE(IsSha256Hex("../../etc/passwd"));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace kdnas
