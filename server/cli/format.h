// Plain-text output of the CLI: sizes, aligned tables and a terminal scatter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kdnas::cli {

// 391234 -> "391.2 KB" (powers of 1000, as ParseByteSize reads them).
std::string FormatBytes(int64_t bytes);
// 1234567 -> "1.23M".
std::string FormatCount(int64_t count);
// Fixed-point with `digits` decimals.
std::string FormatFixed(double value, int digits);
// "12.3x"; "-" when the ratio was not measured (has == false).
std::string FormatRatio(bool has, double ratio);

// A table with a header row; columns are left-aligned for text and
// right-aligned when every cell below the header looks like a number.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

struct ScatterPoint {
  double x = 0;
  double y = 0;
  char mark = '*';
};

// A width x height character plot with labelled axes; x on a log scale when
// log_x is true (sizes span orders of magnitude).
std::string RenderScatter(const std::vector<ScatterPoint>& points, const std::string& x_label,
                          const std::string& y_label, int width = 64, int height = 16,
                          bool log_x = true);

}  // namespace kdnas::cli
