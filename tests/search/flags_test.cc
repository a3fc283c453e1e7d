#include "search/flags.h"

#include <gtest/gtest.h>

namespace kdnas {
namespace {

TEST(FlagSet, ParsesEveryForm) {
  std::string addr = "a";
  int64_t n = 1;
  int threads = 2;
  double ratio = 0.5;
  bool json = false;
  bool color = true;
  FlagSet flags("usage");
  flags.String("addr", &addr, "address");
  flags.Int("n", &n, "count");
  flags.Int("threads", &threads, "threads");
  flags.Double("ratio", &ratio, "ratio");
  flags.Bool("json", &json, "json");
  flags.Bool("color", &color, "color");
  ASSERT_TRUE(flags.Parse({"--addr=host:1", "pos1", "--n", "7", "--threads=3", "--ratio", "0.25",
                           "--json", "--no-color", "--", "--not-a-flag"})
                  .ok());
  EXPECT_EQ(addr, "host:1");
  EXPECT_EQ(n, 7);
  EXPECT_EQ(threads, 3);
  EXPECT_DOUBLE_EQ(ratio, 0.25);
  EXPECT_TRUE(json);
  EXPECT_FALSE(color);
  EXPECT_TRUE(flags.WasSet("addr"));
  EXPECT_FALSE(flags.help_requested());
  EXPECT_EQ(flags.positional(), (std::vector<std::string>{"pos1", "--not-a-flag"}));
}

TEST(FlagSet, NamesTheBadFlag) {
  int64_t n = 0;
  FlagSet flags("usage");
  flags.Int("n", &n, "count");
  Status unknown = flags.Parse({"--m=1"});
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("--m"), std::string::npos);
  FlagSet again("usage");
  again.Int("n", &n, "count");
  Status bad = again.Parse({"--n=seven"});
  EXPECT_NE(bad.message().find("--n"), std::string::npos);
}

TEST(FlagSet, HelpListsFlagsWithDefaults) {
  int64_t n = 5;
  FlagSet flags("kdnas thing");
  flags.Int("n", &n, "How many.");
  ASSERT_TRUE(flags.Parse({"--help"}).ok());
  EXPECT_TRUE(flags.help_requested());
  EXPECT_NE(flags.Help().find("--n=VALUE"), std::string::npos);
  EXPECT_NE(flags.Help().find("(default 5)"), std::string::npos);
}

TEST(ParseByteSize, AcceptsUnits) {
  EXPECT_EQ(*ParseByteSize("400KB"), 400000);
  EXPECT_EQ(*ParseByteSize("400 kb"), 400000);
  EXPECT_EQ(*ParseByteSize("1.5MiB"), 1572864);
  EXPECT_EQ(*ParseByteSize("123"), 123);
  EXPECT_EQ(*ParseByteSize("2 GB"), 2000000000);
}

TEST(ParseByteSize, RejectsBadInputClearly) {
  auto bad_unit = ParseByteSize("40 KQ");
  ASSERT_FALSE(bad_unit.ok());
  EXPECT_NE(bad_unit.status().message().find("unknown unit 'kq'"), std::string::npos);
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_FALSE(ParseByteSize("KB").ok());
  EXPECT_FALSE(ParseByteSize("1.2.3MB").ok());
}

}  // namespace
}  // namespace kdnas
