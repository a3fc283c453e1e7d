#include "server/cli/frontier_plot.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace kdnas::cli {
namespace {

namespace fs = std::filesystem;

class FrontierPlotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A quote, a space, a dollar and a backslash: each meant something to the
    // shell the plot used to be started through.
    dir_ = fs::path(::testing::TempDir()) / "kdnas plot's $HOME \\dir";
    fs::create_directories(dir_);
    for (int i = 0; i < 4; ++i) {
      auto* t = trials_.Add();
      t->set_state(v1::TRIAL_STATE_SUCCEEDED);
      t->mutable_metrics()->set_size_bytes(100000 * (i + 1));
      t->mutable_metrics()->set_val_loss(2.0 - 0.1 * i);
      if (i % 2 == 0) *frontier_.add_points()->mutable_metrics() = t->metrics();
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  v1::Frontier frontier_;
  google::protobuf::RepeatedPtrField<v1::Trial> trials_;
};

TEST_F(FrontierPlotTest, WritesAPngWhosePathHasAQuoteAndASpace) {
  const fs::path out = dir_ / "it's the frontier.png";
  // The title is data too: quotes, a backslash, a newline and a control byte.
  Status s = PlotFrontier(frontier_, trials_, "job \"x\" \\ it's\n\x01", out.string());
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::ifstream in(out, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(0, 8), "\x89PNG\r\n\x1a\n");
}

TEST_F(FrontierPlotTest, ReportsWhatPythonSaid) {
  // A directory that does not exist: matplotlib fails and its error is passed on.
  Status s = PlotFrontier(frontier_, trials_, "t", (dir_ / "missing" / "plot.svg").string());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("No such file or directory"), std::string::npos) << s.message();
}

TEST_F(FrontierPlotTest, RejectsAnUnknownExtension) {
  EXPECT_EQ(PlotFrontier(frontier_, trials_, "t", (dir_ / "plot.jpg").string()).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kdnas::cli
