// The API compiles and a fully populated JobSpec survives binary and JSON
// round trips (JSON is how users write job files).
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "kdnas/v1/search_service.pb.h"
#include "kdnas/v1/worker_service.grpc.pb.h"
#include "kdnas/v1/search_service.grpc.pb.h"

namespace {

kdnas::v1::JobSpec FullJobSpec() {
  kdnas::v1::JobSpec spec;
  spec.set_display_name("demo");
  spec.mutable_data()->mutable_text()->set_path("data/tinyshakespeare.txt");
  spec.mutable_data()->set_tokenizer(kdnas::v1::TOKENIZER_KIND_CHAR);
  spec.mutable_data()->set_validation_fraction(0.1);
  spec.mutable_teacher()->mutable_model()->set_blob("blobs/abc");
  auto* base = spec.mutable_space()->mutable_base();
  base->mutable_architecture()->set_num_layers(2);
  base->mutable_architecture()->add_layers()->set_num_heads(2);
  base->mutable_compression()->set_weight_bits(4);
  base->mutable_compression()->set_sparsity_pattern(kdnas::v1::SPARSITY_PATTERN_2_4);
  base->mutable_distillation()->set_alpha(0.0);
  base->mutable_distillation()->set_init(kdnas::v1::INIT_INHERIT);
  auto* p = spec.mutable_space()->add_parameters();
  p->set_name("d_model");
  p->mutable_integer_range()->set_min(32);
  p->mutable_integer_range()->set_max(128);
  p->mutable_integer_range()->set_step(32);
  auto* bits = spec.mutable_space()->add_parameters();
  bits->set_name("weight_bits");
  for (double b : {8, 4, 3, 2}) bits->mutable_discrete()->add_values(b);
  auto* init = spec.mutable_space()->add_parameters();
  init->set_name("init");
  init->mutable_categorical()->add_values("scratch");
  init->mutable_categorical()->add_values("inherit");
  auto* obj = spec.add_objectives();
  obj->set_metric("val_loss");
  auto* size = spec.add_objectives();
  size->set_metric("size_bytes");
  spec.mutable_constraints()->set_max_size_bytes(400000);
  spec.mutable_budget()->set_max_trials(12);
  spec.mutable_budget()->set_max_worker_seconds(600.5);
  spec.mutable_strategy()->set_name("nsga2");
  spec.mutable_strategy()->mutable_nsga2()->set_population_size(8);
  spec.mutable_strategy()->mutable_multi_fidelity()->set_enabled(true);
  spec.mutable_strategy()->mutable_multi_fidelity()->add_rung_steps(100);
  spec.set_seed(42);
  spec.add_report_size_budgets_bytes(100000);
  return spec;
}

TEST(ProtoRoundTrip, BinaryKeepsEveryField) {
  kdnas::v1::JobSpec spec = FullJobSpec();
  std::string bytes;
  ASSERT_TRUE(spec.SerializeToString(&bytes));
  kdnas::v1::JobSpec parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(spec, parsed));
  // proto3 optional keeps an explicit zero apart from unset.
  EXPECT_TRUE(parsed.space().base().distillation().has_alpha());
  EXPECT_EQ(parsed.space().parameters(1).discrete().values_size(), 4);
}

TEST(ProtoRoundTrip, JsonKeepsEveryField) {
  kdnas::v1::JobSpec spec = FullJobSpec();
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(spec, &json).ok());
  EXPECT_NE(json.find("\"displayName\":\"demo\""), std::string::npos) << json;
  kdnas::v1::JobSpec parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(spec, parsed));
}

TEST(ProtoRoundTrip, JsonRejectsUnknownFields) {
  kdnas::v1::JobSpec parsed;
  auto status = google::protobuf::util::JsonStringToMessage(R"({"budgett": {}})", &parsed);
  EXPECT_FALSE(status.ok());
}

TEST(ProtoRoundTrip, ServicesDescribeEveryRpc) {
  const auto* search =
      kdnas::v1::SubmitJobRequest::descriptor()->file()->FindServiceByName("SearchService");
  ASSERT_NE(search, nullptr);
  for (const char* rpc : {"SubmitJob", "GetJob", "ListJobs", "CancelJob", "WatchJob", "ListTrials",
                          "GetFrontier", "GetBest", "DownloadArtifact", "UploadBlob", "GetBlob"}) {
    EXPECT_NE(search->FindMethodByName(rpc), nullptr) << rpc;
  }
  EXPECT_TRUE(search->FindMethodByName("WatchJob")->server_streaming());
  EXPECT_TRUE(search->FindMethodByName("UploadBlob")->client_streaming());
  const auto* worker =
      kdnas::v1::LeaseTrialRequest::descriptor()->file()->FindServiceByName("WorkerService");
  ASSERT_NE(worker, nullptr);
  for (const char* rpc :
       {"LeaseTrial", "Heartbeat", "ReportResult", "UploadArtifact", "DownloadBlob"}) {
    EXPECT_NE(worker->FindMethodByName(rpc), nullptr) << rpc;
  }
}

}  // namespace
