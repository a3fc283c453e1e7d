#include "server/cli/format.h"

#include <gtest/gtest.h>

#include "server/cli/job_summary.h"

namespace kdnas::cli {
namespace {

TEST(Format, Bytes) {
  EXPECT_EQ(FormatBytes(999), "999 B");
  EXPECT_EQ(FormatBytes(391234), "391.2 KB");
  EXPECT_EQ(FormatBytes(1500000), "1.50 MB");
}

TEST(Format, TableAlignsNumbersRight) {
  Table t({"NAME", "SIZE"});
  t.AddRow({"a", "5"});
  t.AddRow({"long-name", "12345"});
  EXPECT_EQ(t.Render(), "NAME       SIZE\na              5\nlong-name  12345\n");
}

TEST(Format, ScatterPlacesExtremesInCorners) {
  std::string plot = RenderScatter({{1000, 2.0, 'a'}, {100000, 1.0, 'b'}}, "size", "loss", 10, 4);
  // 'a' is small and bad (top left), 'b' large and good (bottom right).
  auto first_row = plot.find("|a");
  auto last_row = plot.find("b\n");
  EXPECT_NE(first_row, std::string::npos) << plot;
  EXPECT_NE(last_row, std::string::npos) << plot;
  EXPECT_LT(first_row, last_row);
  EXPECT_NE(plot.find("1.00 KB"), std::string::npos) << plot;
}

// kdnas trials and watch show a trial over a measured limit as such.
TEST(Format, ATrialOverAMeasuredLimitReadsInfeasible) {
  kdnas::v1::Trial t;
  t.set_state(kdnas::v1::TRIAL_STATE_SUCCEEDED);
  EXPECT_EQ(TrialStateLabel(t), "SUCCEEDED");
  EXPECT_EQ(TrialNote(t), "");
  t.set_infeasible_reason("constraints.max_latency_ms: measured 3 ms > 2 ms");
  EXPECT_EQ(TrialStateLabel(t), "INFEASIBLE");
  EXPECT_EQ(TrialNote(t), "constraints.max_latency_ms: measured 3 ms > 2 ms");
  t.set_state(kdnas::v1::TRIAL_STATE_FAILED);
  t.clear_infeasible_reason();
  t.set_state_message("latency_ms was not measured");
  EXPECT_EQ(TrialStateLabel(t), "FAILED");
  EXPECT_EQ(TrialNote(t), "latency_ms was not measured");
}

}  // namespace
}  // namespace kdnas::cli
