// metrics.json (TrialReportJson) is valid JSON whatever the report holds: the
// TrialMetrics field names in order, integers as numbers, an unmeasured
// latency and non-finite numbers as null, any text escaped, the candidate as
// its proto JSON.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "workers/run_candidate.h"

namespace kdnas {
namespace {

TEST(TrialReportJson, IsValidJsonWithTheMetricNames) {
  TrialReport r;
  r.metrics.set_val_loss(1.8644);
  r.metrics.set_perplexity(std::exp(1.8644));
  r.metrics.set_kl_to_teacher(std::numeric_limits<double>::infinity());
  r.metrics.set_params(818176);
  r.metrics.set_size_bytes(365539);
  r.val_losses = {{100, 2.5}, {200, 1.9}};
  r.init_summary = "inherit \"heads\" \\ 4/4\n\tlayers\x01";
  Candidate c;
  c.architecture.num_layers = 3;
  c.compression.weight_bits = 4;

  const std::string text = TrialReportJson(r, c);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  auto j = nlohmann::ordered_json::parse(text);
  EXPECT_EQ(j.begin().key(), "val_loss");
  EXPECT_DOUBLE_EQ(j["val_loss"].get<double>(), 1.8644);
  EXPECT_TRUE(j["latency_ms"].is_null()) << "not measured";
  EXPECT_TRUE(j["tokens_per_second"].is_null()) << "not measured";
  EXPECT_TRUE(j["kl_to_teacher"].is_null());
  EXPECT_EQ(j["params"].get<int64_t>(), 818176);
  EXPECT_EQ(j["size_bytes"].get<int64_t>(), 365539);
  EXPECT_EQ(j["init"].get<std::string>(), r.init_summary);
  ASSERT_EQ(j["val_history"].size(), 2u);
  EXPECT_EQ(j["val_history"][1][0].get<int64_t>(), 200);
  EXPECT_DOUBLE_EQ(j["val_history"][1][1].get<double>(), 1.9);
  EXPECT_EQ(j["candidate"]["architecture"]["num_layers"].get<int>(), 3);
  EXPECT_EQ(j["candidate"]["compression"]["weight_bits"].get<int>(), 4);
  r.metrics.set_latency_ms(2.5);
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(TrialReportJson(r, c))["latency_ms"].get<double>(), 2.5);
}

}  // namespace
}  // namespace kdnas
