// Golden values of the hypervolume, IGD and GD, and cross-checks of the fast
// algorithms against WFG and a brute-force inclusion-exclusion.
#include "search/hypervolume.h"

#include <gtest/gtest.h>

#include <cmath>

#include "search/indicators.h"
#include "search/pareto_archive.h"
#include "search/rng.h"

namespace kdnas {
namespace {

std::vector<ObjectiveVector> Zdt1Front(int n, double power = 0.5) {
  std::vector<ObjectiveVector> f;
  for (int i = 0; i < n; ++i) {
    double x = static_cast<double>(i) / (n - 1);
    f.push_back({x, 1 - std::pow(x, power)});
  }
  return f;
}

// Inclusion-exclusion over all subsets: exponential, exact, independent.
double BruteForce(const std::vector<ObjectiveVector>& pts, const ObjectiveVector& ref) {
  double total = 0;
  const size_t n = pts.size();
  for (uint32_t mask = 1; mask < (1u << n); ++mask) {
    ObjectiveVector corner(ref.size(), -1e300);
    int bits = 0;
    for (size_t i = 0; i < n; ++i) {
      if (mask & (1u << i)) {
        ++bits;
        for (size_t k = 0; k < ref.size(); ++k) corner[k] = std::max(corner[k], pts[i][k]);
      }
    }
    double box = 1;
    for (size_t k = 0; k < ref.size(); ++k) box *= std::max(0.0, ref[k] - corner[k]);
    total += (bits % 2 == 1 ? 1 : -1) * box;
  }
  return total;
}

TEST(Hypervolume, Zdt1TrueFront) {
  auto front = Zdt1Front(20001);
  EXPECT_NEAR(Hypervolume(front, {1, 1}), 2.0 / 3.0, 1e-3);
  EXPECT_NEAR(Hypervolume(front, {1.1, 1.1}), 0.8767, 1e-3);
}

TEST(Hypervolume, Zdt2TrueFront) {
  EXPECT_NEAR(Hypervolume(Zdt1Front(20001, 2.0), {1, 1}), 1.0 / 3.0, 1e-3);
}

TEST(Hypervolume, Dtlz2ThreeObjectives) {
  // The true front, the octant of the unit sphere, as three dense grids each
  // projected along one axis, so steep parts of one are flat in another.
  std::vector<ObjectiveVector> front;
  const int n = 500;
  for (int axis = 0; axis < 3; ++axis) {
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        double u = static_cast<double>(i) / (n - 1), v = static_cast<double>(j) / (n - 1);
        if (u * u + v * v > 1) continue;
        double w = std::sqrt(1 - u * u - v * v);
        ObjectiveVector p(3);
        p[axis] = w;
        p[(axis + 1) % 3] = u;
        p[(axis + 2) % 3] = v;
        front.push_back(p);
      }
    }
  }
  EXPECT_NEAR(Hypervolume(front, {1, 1, 1}), 1 - M_PI / 6, 1e-3);
}

TEST(Hypervolume, PymooDocumentedExample) {
  auto pf = Zdt1Front(100);
  std::vector<ObjectiveVector> a;
  for (size_t i = 0; i < pf.size(); i += 10) a.push_back({pf[i][0] * 1.1, pf[i][1] * 1.1});
  EXPECT_NEAR(Hypervolume(a, {1.2, 1.2}), 0.9631646448, 1e-9);
  EXPECT_NEAR(InvertedGenerationalDistance(a, pf), 0.0669090830, 1e-9);
  EXPECT_NEAR(GenerationalDistance(a, pf), 0.0549768947, 1e-9);
}

TEST(Hypervolume, FastAlgorithmsAgreeWithWfgAndBruteForce) {
  Rng rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    size_t dims = 2 + trial % 4;
    size_t n = 1 + rng.Below(9);
    std::vector<ObjectiveVector> pts(n, ObjectiveVector(dims));
    for (auto& p : pts) {
      for (auto& v : p) v = std::round(rng.Uniform(0, 1.2) * 20) / 20;  // ties on purpose
    }
    ObjectiveVector ref(dims, 1.0);
    double expected = BruteForce(pts, ref);
    EXPECT_NEAR(Hypervolume(pts, ref), expected, 1e-9) << "dims " << dims;
    EXPECT_NEAR(HypervolumeWfg(pts, ref), expected, 1e-9) << "dims " << dims;
  }
}

TEST(ParetoArchive, IncrementalMatchesRecomputation) {
  for (size_t dims : {2u, 3u, 4u}) {
    Rng rng(dims);
    ParetoArchive archive(ObjectiveVector(dims, 1.0));
    std::vector<ObjectiveVector> all;
    for (int i = 0; i < 400; ++i) {
      ObjectiveVector p(dims);
      for (auto& v : p) v = std::round(rng.Uniform(0, 1.1) * 50) / 50;
      all.push_back(p);
      archive.Insert(i, p);
      if (i % 37 == 0 || i == 399) {
        EXPECT_NEAR(archive.hypervolume(), Hypervolume(all, ObjectiveVector(dims, 1.0)), 1e-9);
      }
    }
    // Members are exactly the non-dominated, first-seen points.
    for (const auto& m : archive.Members()) {
      for (const auto& q : all) {
        bool dominates = true, strictly = false;
        for (size_t k = 0; k < dims; ++k) {
          dominates &= q[k] <= m.point[k];
          strictly |= q[k] < m.point[k];
        }
        EXPECT_FALSE(dominates && strictly);
      }
    }
  }
}

TEST(ParetoArchive, ReportsAddedAndRemoved) {
  ParetoArchive archive({10, 10});
  EXPECT_TRUE(archive.Insert(1, {5, 5}).added);
  EXPECT_TRUE(archive.Insert(2, {3, 7}).added);
  EXPECT_FALSE(archive.Insert(3, {6, 6}).added);  // dominated by 1
  EXPECT_FALSE(archive.Insert(4, {5, 5}).added);  // equal to 1
  auto change = archive.Insert(5, {2, 4});        // dominates 1 and 2
  EXPECT_TRUE(change.added);
  EXPECT_EQ(change.removed, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(archive.size(), 1u);
  EXPECT_DOUBLE_EQ(archive.hypervolume(), 8 * 6);
}

TEST(ParetoArchive, PointsOutsideTheReferenceBelongButAddNothing) {
  ParetoArchive archive({1, 1});
  EXPECT_TRUE(archive.Insert(1, {2, 0.5}).added);
  EXPECT_DOUBLE_EQ(archive.hypervolume(), 0);
  EXPECT_TRUE(archive.Insert(2, {0.5, 0.5}).added);
  EXPECT_DOUBLE_EQ(archive.hypervolume(), 0.25);
}

TEST(Front2D, GainIsTheAreaAPointWouldAdd) {
  Rng rng(11);
  for (int round = 0; round < 200; ++round) {
    Front2D front(1.0, 1.0);
    std::vector<ObjectiveVector> members;
    for (int i = 0; i < 6; ++i) {
      double x = rng.Uniform(), y = rng.Uniform();
      front.Insert(x, y);
      members.push_back({x, y});
    }
    // Sometimes exactly on a member's coordinates, sometimes outside the box.
    double x = round % 5 == 0 ? members[0][0] : rng.Uniform() * 1.1;
    double y = round % 7 == 0 ? members[1][1] : rng.Uniform() * 1.1;
    double before = Hypervolume2D(members, {1.0, 1.0});
    members.push_back({x, y});
    double after = Hypervolume2D(members, {1.0, 1.0});
    EXPECT_NEAR(front.Gain(x, y), after - before, 1e-12) << "round " << round;
  }
}

}  // namespace
}  // namespace kdnas
