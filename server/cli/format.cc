#include "server/cli/format.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace kdnas::cli {

std::string FormatFixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, value);
  return buf;
}

std::string FormatRatio(bool has, double ratio) {
  return has ? FormatFixed(ratio, ratio < 10 ? 2 : 1) + "x" : "-";
}

std::string FormatBytes(int64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (std::fabs(v) >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  return u == 0 ? std::to_string(bytes) + " B" : FormatFixed(v, v < 10 ? 2 : 1) + " " + units[u];
}

std::string FormatCount(int64_t count) {
  if (std::llabs(count) < 1000) return std::to_string(count);
  const char* units[] = {"", "k", "M", "G", "T"};
  double v = static_cast<double>(count);
  int u = 0;
  while (std::fabs(v) >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  return FormatFixed(v, v < 10 ? 2 : 1) + units[u];
}

Table::Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

void Table::AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

std::string Table::Render() const {
  size_t cols = 0;
  for (const auto& r : rows_) cols = std::max(cols, r.size());
  std::vector<size_t> width(cols, 0);
  std::vector<bool> numeric(cols, rows_.size() > 1);
  for (size_t i = 0; i < rows_.size(); ++i) {
    for (size_t c = 0; c < rows_[i].size(); ++c) {
      width[c] = std::max(width[c], rows_[i][c].size());
      if (i > 0 && !rows_[i][c].empty()) {
        char first = rows_[i][c][0];
        if (!(std::isdigit(static_cast<unsigned char>(first)) || first == '-' || first == '.')) {
          numeric[c] = false;
        }
      }
    }
  }
  std::ostringstream out;
  for (size_t i = 0; i < rows_.size(); ++i) {
    std::string line;
    for (size_t c = 0; c < cols; ++c) {
      std::string cell = c < rows_[i].size() ? rows_[i][c] : "";
      std::string pad(width[c] - cell.size(), ' ');
      line += (numeric[c] && i > 0) ? pad + cell : cell + pad;
      if (c + 1 < cols) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
  return out.str();
}

std::string RenderScatter(const std::vector<ScatterPoint>& points, const std::string& x_label,
                          const std::string& y_label, int width, int height, bool log_x) {
  if (points.empty()) return "(no points)\n";
  auto tx = [&](double x) { return log_x ? std::log10(std::max(x, 1e-300)) : x; };
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& p : points) {
    x0 = std::min(x0, tx(p.x));
    x1 = std::max(x1, tx(p.x));
    y0 = std::min(y0, p.y);
    y1 = std::max(y1, p.y);
  }
  if (x1 - x0 < 1e-12) {
    x0 -= 0.5;
    x1 += 0.5;
  }
  if (y1 - y0 < 1e-12) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  std::vector<std::string> grid(height, std::string(width, ' '));
  for (const auto& p : points) {
    int col = static_cast<int>(std::lround((tx(p.x) - x0) / (x1 - x0) * (width - 1)));
    int row = static_cast<int>(std::lround((y1 - p.y) / (y1 - y0) * (height - 1)));
    grid[row][col] = p.mark;
  }
  std::ostringstream out;
  std::string top = FormatFixed(y1, 3), bottom = FormatFixed(y0, 3);
  size_t margin = std::max(top.size(), bottom.size());
  out << y_label << "\n";
  for (int r = 0; r < height; ++r) {
    std::string label = r == 0 ? top : r == height - 1 ? bottom : "";
    out << std::string(margin - label.size(), ' ') << label << " |" << grid[r] << "\n";
  }
  out << std::string(margin, ' ') << " +" << std::string(width, '-') << "\n";
  auto fmt_x = [&](double t) {
    double v = log_x ? std::pow(10.0, t) : t;
    return log_x ? FormatBytes(static_cast<int64_t>(std::llround(v))) : FormatFixed(v, 3);
  };
  std::string left = fmt_x(x0), right = fmt_x(x1);
  int gap = std::max(1, width - static_cast<int>(left.size() + right.size()));
  out << std::string(margin + 2, ' ') << left << std::string(gap, ' ') << right << "\n";
  out << std::string(margin + 2, ' ') << x_label << (log_x ? " (log scale)" : "") << "\n";
  return out.str();
}

}  // namespace kdnas::cli
