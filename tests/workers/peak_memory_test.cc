// The peak resident memory of a span of work: a reset forgets an earlier
// peak, and memory touched after it counts.
#include "workers/peak_memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace kdnas {
namespace {

void Touch(size_t bytes) {
  std::unique_ptr<char[]> block(new char[bytes]);
  std::memset(block.get(), 1, bytes);
  // The pages must exist: keep the compiler from eliding the block.
  asm volatile("" : : "r"(block.get()) : "memory");
}

TEST(PeakResidentBytes, ASpanForgetsAnEarlierPeakAndCountsItsOwn) {
  constexpr int64_t kMiB = 1 << 20;
  Touch(400 * kMiB);
  const int64_t lifetime = PeakResidentBytes();
  EXPECT_GT(lifetime, 400 * kMiB);
  ASSERT_TRUE(ResetPeakResidentBytes());
  const int64_t after_reset = PeakResidentBytes();
  EXPECT_LT(after_reset, lifetime - 300 * kMiB);
  Touch(100 * kMiB);
  const int64_t span = PeakResidentBytes();
  EXPECT_GT(span, after_reset + 90 * kMiB);
  EXPECT_LT(span, lifetime);
}

}  // namespace
}  // namespace kdnas
