#include "server/cli/yaml_to_proto.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>

#include "kdnas/v1/job.pb.h"
#include "server/job_validation.h"

namespace kdnas::cli {
namespace {

using kdnas::ValidateJobSpec;

using kdnas::v1::JobSpec;

TEST(YamlToProto, ReadsTheDemoJobFile) {
  JobSpec spec;
  ASSERT_TRUE(LoadYamlMessageFile("examples/demo.yaml", &spec).ok());
  EXPECT_EQ(spec.display_name(), "demo");
  EXPECT_EQ(spec.data().text().path(), "../data/tinyshakespeare.txt");
  EXPECT_EQ(spec.space().base().distillation().init(), kdnas::v1::INIT_INHERIT);
  EXPECT_EQ(spec.space().base().compression().weight_format(), "q4_0");
  EXPECT_EQ(spec.space().parameters(1).categorical().values_size(), 6);
  EXPECT_EQ(spec.objectives(1).metric(), "size_bytes");
  EXPECT_EQ(spec.objectives(1).direction(), kdnas::v1::DIRECTION_MINIMIZE);
  EXPECT_EQ(spec.budget().max_trials(), 216);
  EXPECT_EQ(spec.budget().max_worker_seconds(), 750);
  EXPECT_EQ(spec.report_size_budgets_bytes_size(), 3);
}

TEST(YamlToProto, EveryExampleIsAValidJob) {
  for (const char* file : {"examples/demo.yaml", "examples/large.yaml"}) {
    JobSpec spec;
    ASSERT_TRUE(LoadYamlMessageFile(file, &spec).ok()) << file;
    Status valid = ValidateJobSpec(spec);
    EXPECT_TRUE(valid.ok()) << file << ": " << valid.ToString();
  }
}

TEST(YamlToProto, JsonAndCamelCaseGiveTheSameMessage) {
  JobSpec from_yaml, from_json;
  ASSERT_TRUE(ParseYamlMessage("budget:\n  max_trials: 5\nstrategy: {name: random}\nseed: 7\n",
                               "a.yaml", &from_yaml)
                  .ok());
  ASSERT_TRUE(
      ParseYamlMessage(R"({"budget": {"maxTrials": 5}, "strategy": {"name": "random"}, "seed": 7})",
                       "a.json", &from_json)
          .ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(from_yaml, from_json));
}

// Multi-fidelity and the predictors are on unless their message is present
// and disabled, so {enabled: false} must reach the controller as a message.
TEST(YamlToProto, ADisabledOptionIsPresent) {
  JobSpec spec;
  ASSERT_TRUE(ParseYamlMessage("strategy:\n  multi_fidelity: {enabled: false}\n", "x", &spec).ok());
  EXPECT_TRUE(spec.strategy().has_multi_fidelity());
  EXPECT_FALSE(spec.strategy().has_predictor());
  EXPECT_FALSE(kdnas::ApplyJobDefaults(spec).strategy().multi_fidelity().enabled());
  EXPECT_TRUE(kdnas::ApplyJobDefaults(spec).strategy().predictor().enabled());
  // A tokenizer left out is absent (the teacher's); set, it is present.
  EXPECT_FALSE(spec.data().has_tokenizer());
  ASSERT_TRUE(ParseYamlMessage("data: {tokenizer: char}\n", "x", &spec).ok());
  EXPECT_TRUE(spec.data().has_tokenizer());
}

TEST(YamlToProto, ReadsAHuggingFaceTeacher) {
  JobSpec spec;
  ASSERT_TRUE(ParseYamlMessage("teacher: {hf: {path: ckpt/smollm}}\n"
                               "data: {tokenizer: sentencepiece}\n"
                               "export: {hf_loadable: true}\n",
                               "x", &spec)
                  .ok());
  EXPECT_TRUE(spec.export_().hf_loadable());
  EXPECT_TRUE(spec.teacher().has_hf());
  EXPECT_FALSE(spec.teacher().has_model());
  EXPECT_EQ(spec.teacher().hf().path(), "ckpt/smollm");
  EXPECT_EQ(spec.data().tokenizer(), kdnas::v1::TOKENIZER_KIND_SENTENCEPIECE);
  JobSpec blob;
  ASSERT_TRUE(ParseYamlMessage("teacher:\n  hf:\n    blob: blobs/abc\n", "x", &blob).ok());
  EXPECT_EQ(blob.teacher().hf().blob(), "blobs/abc");
  JobSpec bpe;
  ASSERT_TRUE(ParseYamlMessage("data: {tokenizer: bpe}\n", "x", &bpe).ok());
  EXPECT_EQ(bpe.data().tokenizer(), kdnas::v1::TOKENIZER_KIND_BPE);
}

TEST(YamlToProto, EnumsTakeShortAndFullNames) {
  JobSpec spec;
  ASSERT_TRUE(ParseYamlMessage(R"(
objectives:
  - {metric: teacher_agreement, direction: maximize}
  - {metric: size_bytes, direction: DIRECTION_MINIMIZE}
space:
  base:
    compression: {sparsity_pattern: "2:4"}
)",
                               "x", &spec)
                  .ok());
  EXPECT_EQ(spec.objectives(0).direction(), kdnas::v1::DIRECTION_MAXIMIZE);
  EXPECT_EQ(spec.space().base().compression().sparsity_pattern(), kdnas::v1::SPARSITY_PATTERN_2_4);
}

TEST(YamlToProto, UnknownFieldIsNamedWithItsLine) {
  JobSpec spec;
  Status s = ParseYamlMessage("seed: 1\nbudget:\n  max_trails: 5\n", "job.yaml", &spec);
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "job.yaml: budget.max_trails (line 3): unknown field 'max_trails' of Budget");
}

TEST(YamlToProto, BadValuesAreNamed) {
  JobSpec spec;
  Status s = ParseYamlMessage("budget: {max_trials: ten}", "j", &spec);
  EXPECT_NE(s.message().find("budget.max_trials (line 1): expected an integer, got 'ten'"),
            std::string::npos)
      << s.message();
  s = ParseYamlMessage("objectives: [{direction: sideways}]", "j", &spec);
  EXPECT_NE(s.message().find("objectives[0].direction"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("one of minimize, maximize"), std::string::npos) << s.message();
  s = ParseYamlMessage("budget: {max_attempts: 99999999999}", "j", &spec);
  EXPECT_NE(s.message().find("out of range"), std::string::npos) << s.message();
  s = ParseYamlMessage("seed: -1", "j", &spec);
  EXPECT_NE(s.message().find("seed"), std::string::npos) << s.message();
  s = ParseYamlMessage("report_size_budgets_bytes: 5", "j", &spec);
  EXPECT_NE(s.message().find("expected a list"), std::string::npos) << s.message();
  s = ParseYamlMessage("budget: [1, 2]", "j", &spec);
  EXPECT_NE(s.message().find("expected a mapping"), std::string::npos) << s.message();
}

TEST(YamlToProto, OneofAcceptsOnlyOneMember) {
  JobSpec spec;
  Status s = ParseYamlMessage("data: {text: {path: a.txt, blob: blobs/x}}", "j", &spec);
  EXPECT_NE(s.message().find("only one of 'source'"), std::string::npos) << s.message();
}

TEST(YamlToProto, SyntaxErrorsGiveTheLine) {
  JobSpec spec;
  Status s = ParseYamlMessage("budget: {max_trials: 5\nseed: 1\n", "broken.yaml", &spec);
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("broken.yaml: line ", 0), 0u) << s.message();
}

TEST(YamlToProto, SpecialFloatsReachTheServerValidator) {
  JobSpec spec;
  ASSERT_TRUE(ParseYamlMessage("budget: {max_worker_seconds: .nan}", "j", &spec).ok());
  EXPECT_TRUE(std::isnan(spec.budget().max_worker_seconds()));
}

}  // namespace
}  // namespace kdnas::cli
