#include "search/flags.h"

#include <gtest/gtest.h>

namespace kdnas {
namespace {

// One flag of each kind, registered on `flags`.
struct Values {
  std::string addr = "a";
  int64_t n = 1;
  int threads = 2;
  double ratio = 0.5;
  bool json = false;
  bool color = true;
  void Register(FlagSet& flags) {
    flags.String("addr", &addr, "address");
    flags.Int("n", &n, "count");
    flags.Int("threads", &threads, "threads");
    flags.Double("ratio", &ratio, "ratio");
    flags.Bool("json", &json, "json");
    flags.Bool("color", &color, "color");
  }
};

TEST(FlagSet, ParsesEveryForm) {
  Values v;
  FlagSet flags("usage");
  v.Register(flags);
  ASSERT_TRUE(flags.Parse({"--addr=host:1", "pos1", "--n", "7", "--threads=3", "--ratio", "0.25",
                           "--json", "--no-color", "--", "--not-a-flag"})
                  .ok());
  EXPECT_EQ(v.addr, "host:1");
  EXPECT_EQ(v.n, 7);
  EXPECT_EQ(v.threads, 3);
  EXPECT_DOUBLE_EQ(v.ratio, 0.25);
  EXPECT_TRUE(v.json);
  EXPECT_FALSE(v.color);
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

TEST(FlagSet, NamesTheFlagOfEveryBadValue) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--threads=99999999999"},
                                             {"--ratio=nan"},
                                             {"--ratio", "inf"},
                                             {"--json=maybe"},
                                             {"--addr"},
                                             {"--n", "1.5"},
                                             {"--color=2x"}}) {
    Values v;
    FlagSet flags("usage");
    v.Register(flags);
    Status s = flags.Parse(args);
    ASSERT_EQ(s.code(), StatusCode::kInvalidArgument) << args[0];
    std::string name = args[0].substr(0, args[0].find('='));
    EXPECT_EQ(s.message().rfind(name, 0), 0u) << s.message();
  }
  Values v;
  FlagSet flags("usage");
  v.Register(flags);
  EXPECT_EQ(flags.Parse({"--addr"}).message(), "--addr needs a value");
}

TEST(FlagSet, NegativeNumbersAreValuesAndDashesAreFlags) {
  Values v;
  FlagSet flags("usage");
  v.Register(flags);
  ASSERT_TRUE(flags.Parse({"--n", "-3", "--ratio=-0.5", "-7", "-"}).ok());
  EXPECT_EQ(v.n, -3);
  EXPECT_DOUBLE_EQ(v.ratio, -0.5);
  EXPECT_EQ(flags.positional(), (std::vector<std::string>{"-7", "-"}));
  FlagSet single("usage");
  Status s = single.Parse({"-x"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("unknown flag -x"), std::string::npos) << s.message();
}

TEST(FlagSet, AnEmptyValueIsAValue) {
  Values v;
  FlagSet flags("usage");
  v.Register(flags);
  ASSERT_TRUE(flags.Parse({"--addr=", "pos"}).ok());
  EXPECT_EQ(v.addr, "");
  EXPECT_EQ(flags.positional(), (std::vector<std::string>{"pos"}));
  Values w;
  FlagSet again("usage");
  w.Register(again);
  ASSERT_TRUE(again.Parse({"--addr", ""}).ok());
  EXPECT_EQ(w.addr, "");
  FlagSet bad("usage");
  Values u;
  u.Register(bad);
  EXPECT_EQ(bad.Parse({"--json="}).message(), "--json: '' is not true or false");
  FlagSet number("usage");
  Values n;
  n.Register(number);
  EXPECT_EQ(number.Parse({"--n="}).code(), StatusCode::kInvalidArgument);
}

TEST(FlagSet, LastValueWinsAndBooleansTakeValues) {
  Values v;
  bool plain = true;
  FlagSet flags("usage");
  v.Register(flags);
  flags.Bool("plain", &plain, "plain");
  ASSERT_TRUE(flags
                  .Parse({"--addr", "x", "--addr=y", "--json=yes", "--color", "--no-color",
                          "--plain=false"})
                  .ok());
  EXPECT_EQ(v.addr, "y");
  EXPECT_TRUE(v.json);
  EXPECT_FALSE(v.color);
  EXPECT_FALSE(plain);
  EXPECT_TRUE(flags.WasSet("color"));
  EXPECT_FALSE(flags.WasSet("missing"));
}

TEST(FlagSet, HelpListsFlagsWithDefaults) {
  int64_t n = 5;
  std::string addr = "127.0.0.1:50051";
  double lr = 0.001;
  bool json = false;
  FlagSet flags("kdnas thing [flags]\n\nDoes a thing.");
  flags.Int("n", &n, "How many.");
  flags.String("addr", &addr, "Controller address.");
  flags.Double("lr", &lr, "Learning rate.");
  flags.Bool("json", &json, "Print JSON.");
  ASSERT_TRUE(flags.Parse({"--help"}).ok());
  EXPECT_TRUE(flags.help_requested());
  EXPECT_EQ(flags.Help(),
            "kdnas thing [flags]\n\nDoes a thing.\n\nFlags:\n"
            "  --n=VALUE\n      How many. (default 5)\n"
            "  --addr=VALUE\n      Controller address. (default \"127.0.0.1:50051\")\n"
            "  --lr=VALUE\n      Learning rate. (default 0.001)\n"
            "  --json\n      Print JSON. (default false)\n"
            "  --help\n      Show this help.\n");
  FlagSet short_help("usage");
  ASSERT_TRUE(short_help.Parse({"-h"}).ok());
  EXPECT_TRUE(short_help.help_requested());
}

TEST(FlagSet, HelpDoesNotHideAnUnknownFlag) {
  FlagSet flags("usage");
  EXPECT_EQ(flags.Parse({"--help", "--bogus"}).code(), StatusCode::kInvalidArgument);
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
