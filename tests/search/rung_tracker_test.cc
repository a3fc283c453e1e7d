#include "search/rung_tracker.h"

#include <gtest/gtest.h>

namespace kdnas {
namespace {

RungTracker Tracker() { return RungTracker({{100, 300}, 3, 1, 4}); }

TEST(RungTracker, EveryoneGoesOnUntilEnoughTrialsReachARung) {
  RungTracker t = Tracker();
  EXPECT_TRUE(t.IsRung(100));
  EXPECT_FALSE(t.IsRung(200));
  EXPECT_TRUE(t.Decide(1, 100, 10, 3.0));
  EXPECT_TRUE(t.Decide(2, 100, 10, 5.0));
  EXPECT_TRUE(t.Decide(3, 100, 10, 6.0));
  EXPECT_TRUE(t.Decide(99, 200, 10, 9.0));  // not a rung
}

TEST(RungTracker, DominatedTrialsStopUnlessAmongTheBestThird) {
  RungTracker t = Tracker();
  for (int i = 0; i < 5; ++i) t.Decide(i, 100, 10 + i, 2.0 - 0.1 * i);  // a front: bigger is better
  // Same size as trial 2 and worse: dominated, not in the top third.
  EXPECT_FALSE(t.Decide(10, 100, 12, 2.5));
  // Smaller than everyone: non-dominated whatever its loss.
  EXPECT_TRUE(t.Decide(11, 100, 1, 9.0));
  // The same question gets the same answer.
  EXPECT_FALSE(t.Decide(10, 100, 12, 2.5));
  EXPECT_EQ(t.reached(100), 7);
  EXPECT_EQ(t.continued(100), 6);
}

TEST(RungTracker, TopFractionGoesOnEvenWhenDominated) {
  RungTracker t({{100}, 2, 1, 2});
  EXPECT_TRUE(t.Decide(1, 100, 5, 1.0));
  // Dominated by trial 1, and the top half of two is trial 1 alone.
  EXPECT_FALSE(t.Decide(2, 100, 6, 1.1));
  EXPECT_FALSE(t.Decide(3, 100, 7, 1.2));
  // Dominated by trial 1 only: rank 1, second best of four: in the top half.
  EXPECT_TRUE(t.Decide(4, 100, 6.5, 1.05));
}

TEST(RungTracker, RecordRebuildsWithoutDeciding) {
  RungTracker t = Tracker();
  t.Record(1, 100, 10, 1.0, 0, true);
  t.Record(2, 100, 10, 2.0, 0, false);
  EXPECT_EQ(t.reached(100), 2);
  EXPECT_EQ(t.continued(100), 1);
  EXPECT_FALSE(t.Decide(2, 100, 10, 2.0));
}

TEST(RungTracker, AFasterTrialGoesOnWhenLatencyIsCompared) {
  RungOptions options{{100}, 3, 1, 4};
  options.compare_latency = true;
  RungTracker t(options);
  for (int i = 0; i < 5; ++i) t.Decide(i, 100, 10 + i, 2.0 - 0.1 * i, 1.0);
  // Larger and worse than trial 0, but twice as fast: non-dominated.
  EXPECT_TRUE(t.Decide(10, 100, 12, 2.5, 0.5));
  // 2% faster is within the tolerance: dominated by trial 2, and not among the best third.
  EXPECT_FALSE(t.Decide(11, 100, 12, 2.5, 0.98));
  // An unknown latency is compared in (size, loss) only.
  EXPECT_FALSE(t.Decide(12, 100, 12, 2.5, 0));
  // Slower than the rest, equal in size and loss to trial 10: dominated by it.
  EXPECT_FALSE(t.Decide(13, 100, 12, 2.5, 0.6));

  RungTracker without = Tracker();  // latency not compared: the fast trial is dominated
  for (int i = 0; i < 5; ++i) without.Decide(i, 100, 10 + i, 2.0 - 0.1 * i, 1.0);
  EXPECT_FALSE(without.Decide(10, 100, 12, 2.5, 0.5));
}

}  // namespace
}  // namespace kdnas
