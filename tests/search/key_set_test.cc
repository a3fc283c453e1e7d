#include "search/key_set.h"

#include <gtest/gtest.h>

#include "search/rng.h"

namespace kdnas {
namespace {

TEST(KeySet, NeverForgetsAMemberAndRarelyInventsOne) {
  KeySet set;
  Rng rng(5);
  std::vector<uint64_t> members;
  for (int i = 0; i < 600'000; ++i) {
    uint64_t h = rng.Next();
    if (set.Insert(h)) members.push_back(h);
  }
  for (uint64_t h : members) ASSERT_TRUE(set.Contains(h));
  EXPECT_FALSE(set.Insert(members[12345]));  // a repeat is refused
  int false_positives = 0;
  for (int i = 0; i < 100'000; ++i) false_positives += set.Contains(rng.Next());
  EXPECT_LT(false_positives, 3000);  // < 3%
  EXPECT_GT(members.size(), 580'000u);
}

TEST(KeySet, ExactWhileSmall) {
  KeySet set;
  for (uint64_t h = 0; h < 1000; ++h) EXPECT_TRUE(set.Insert(h * 7919));
  for (uint64_t h = 0; h < 1000; ++h) EXPECT_FALSE(set.Insert(h * 7919));
  for (uint64_t h = 1000; h < 2000; ++h) EXPECT_FALSE(set.Contains(h * 7919));
  EXPECT_EQ(set.size(), 1000u);
}

}  // namespace
}  // namespace kdnas
