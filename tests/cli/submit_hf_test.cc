// kdnas submit and kdnas upload of a Hugging Face checkpoint directory,
// against a controller on a real socket: the directory travels as one tar
// blob (WriteTar's, so its digest is the directory's), the controller reads
// it, and kdnas status shows what it read.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "formats/tar_archive.h"
#include "kdnas/v1/search_service.grpc.pb.h"
#include "search/sha256.h"
#include "server/cli/commands.h"
#include "server/cli/job_summary.h"
#include "server/controller.h"
#include "tests/fixtures/hf_teacher_fixture.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

class SubmitHfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kdnas-cli-hf-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    const std::string fixture = HfTeacherFixture();  // before TMPDIR moves
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "tmp");
    Controller::Options o;
    o.listen = "127.0.0.1:0";
    o.data_dir = (dir_ / "data").string();
    o.store = "memory";
    auto c = Controller::Create(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    controller_ = std::move(*c);
    address_ = "127.0.0.1:" + std::to_string(controller_->port());
    stub_ = v1::SearchService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    // The checkpoint beside the job file, named by a relative path.
    fs::copy(fixture, dir_ / "ckpt", fs::copy_options::recursive);
    // Where the CLI writes its temporary tar.
    ::setenv("TMPDIR", (dir_ / "tmp").c_str(), 1);
    std::ofstream(dir_ / "job.yaml")
        << "data: {text: {path: " << fs::absolute("data/tinyshakespeare.txt").string() << "}}\n"
        << "teacher: {hf: {path: ckpt}}\n"
           "space:\n"
           "  parameters:\n"
           "    - {name: num_layers, integer_range: {min: 1, max: 2}}\n"
           "budget: {max_trials: 2}\n";
  }
  void TearDown() override {
    ::unsetenv("TMPDIR");
    controller_.reset();
    fs::remove_all(dir_);
  }
  int Cli(int (*command)(const cli::Args&), cli::Args args) {
    args.insert(args.end(), {"--addr", address_});
    return command(args);
  }
  v1::Job GetJob(const std::string& name) {
    grpc::ClientContext context;
    v1::GetJobRequest request;
    request.set_name(name);
    v1::Job job;
    grpc::Status status = stub_->GetJob(&context, request, &job);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return job;
  }
  // The blob name a directory's tar has.
  std::string BlobOf(const fs::path& directory) {
    const std::string tar = (dir_ / "expected.tar").string();
    EXPECT_TRUE(WriteTar(directory.string(), tar).ok());
    return "blobs/" + *Sha256File(tar);
  }

  fs::path dir_;
  std::unique_ptr<Controller> controller_;
  std::string address_;
  std::unique_ptr<v1::SearchService::Stub> stub_;
};

TEST_F(SubmitHfTest, SubmitUploadsACheckpointDirectoryAsOneTarBlob) {
  ASSERT_EQ(Cli(cli::RunSubmit, {(dir_ / "job.yaml").string()}), 0);
  const v1::Job job = GetJob("jobs/1");
  ASSERT_TRUE(job.spec().teacher().has_hf());
  EXPECT_EQ(job.spec().teacher().hf().blob(), BlobOf(dir_ / "ckpt"));
  EXPECT_FALSE(job.spec().teacher().has_model());
  EXPECT_EQ(job.teacher_info().hf().family(), "llama");
  EXPECT_EQ(job.data_info().tokenizer(), v1::TOKENIZER_KIND_BPE);
  // The temporary tar is gone.
  EXPECT_TRUE(fs::is_empty(dir_ / "tmp"));

  const std::string summary = cli::SummarizeInputs(job);
  const std::string bos = std::to_string(job.teacher_info().hf().bos_token_id());
  const std::string vocab = std::to_string(job.data_info().vocab_size());
  for (const std::string& line :
       {std::string(
            "  teacher: Hugging Face llama (LlamaForCausalLM), 2 layers, hidden 64, 4 heads "
            "(2 kv, head dim 16), ffn 96, context 128, vocabulary ") +
            vocab + ", tied; F32, ",
        "  tokenizer: bpe from tokenizer.json (files: tokenizer.json tokenizer_config.json), BOS " +
            bos + ", vocabulary " + vocab + ", ",
        std::string(" in every student\n  corpus: 1.12 MB, "),
        std::string("  students: llama blocks (RMSNorm eps 1e-05, rope theta ")}) {
    EXPECT_NE(summary.find(line), std::string::npos) << line << "\nin:\n" << summary;
  }

  // --no-upload keeps the path, made absolute.
  ASSERT_EQ(Cli(cli::RunSubmit, {(dir_ / "job.yaml").string(), "--no-upload"}), 0);
  EXPECT_EQ(GetJob("jobs/2").spec().teacher().hf().path(), (dir_ / "ckpt").string());
}

TEST_F(SubmitHfTest, UploadPacksADirectoryOnlyForATeacher) {
  EXPECT_EQ(Cli(cli::RunUpload, {(dir_ / "ckpt").string(), "--kind", "teacher", "--json"}), 0);
  grpc::ClientContext context;
  v1::GetBlobRequest request;
  request.set_name(BlobOf(dir_ / "ckpt"));
  v1::Blob blob;
  grpc::Status status = stub_->GetBlob(&context, request, &blob);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(blob.filename(), "ckpt.tar");
  EXPECT_EQ(blob.kind(), v1::BLOB_KIND_TEACHER);
  EXPECT_EQ(Cli(cli::RunUpload, {(dir_ / "ckpt").string(), "--kind", "dataset"}), 2);
  // A checkpoint directory with a subdirectory is not packed.
  fs::create_directories(dir_ / "ckpt" / "original");
  EXPECT_NE(Cli(cli::RunUpload, {(dir_ / "ckpt").string(), "--kind", "teacher"}), 0);
}

}  // namespace
}  // namespace kdnas
