#include "server/cli/format.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace kdnas::cli
