// Submitting a job whose teacher is a Hugging Face checkpoint (teacher.hf):
// a directory and a tar of it give the same records, the cost model sizes
// students with the checkpoint's vocabulary and tokenizer bytes, and every
// refusal names its field.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "formats/hf_checkpoint.h"
#include "formats/hf_kdnas_architecture.h"
#include "formats/job_tokenizer.h"
#include "proto/api_convert.h"
#include "search/cost_model.h"
#include "search/sha256.h"
#include "server/store/memory_store.h"
#include "tests/fixtures/hf_teacher_fixture.h"
#include "tests/server/job_manager_harness.h"

namespace kdnas {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// DemoJob with the checkpoint as its teacher.
v1::SubmitJobRequest HfJob(const std::string& teacher_path) {
  v1::SubmitJobRequest r = DemoJob();
  r.clear_request_id();
  r.mutable_spec()->mutable_teacher()->clear_model();
  r.mutable_spec()->mutable_teacher()->mutable_hf()->set_path(teacher_path);
  return r;
}

StatusOr<v1::Job> Submit(Harness& h, const v1::SubmitJobRequest& request) {
  return Call<v1::Job>([&](auto cb) { h.m().SubmitJob(request, cb); });
}

// The message of a refused submission, which must be INVALID_ARGUMENT.
std::string Refused(Harness& h, const v1::SubmitJobRequest& request) {
  auto job = Submit(h, request);
  EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument) << job.status().ToString();
  return job.status().message();
}

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  const fs::path path =
      fs::temp_directory_path() / ("kdnas-hfjob-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

TEST(HfTeacherJob, ADirectoryAndATarOfItAreReadAlike) {
  Harness h(std::make_unique<MemoryStore>());
  const std::string dir = HfTeacherFixture();
  auto headers = ReadHfCheckpointHeaders(dir);
  ASSERT_TRUE(headers.ok()) << headers.status().ToString();
  const int vocab = static_cast<int>(headers->config.vocab_size);
  auto tokenizer = JobTokenizer::FromHfFiles(headers->files, vocab);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();
  ASSERT_TRUE(tokenizer->bos_to_add().has_value()) << "<|begin_of_text|>";
  auto tokens = tokenizer->Encode(ReadFile("data/tinyshakespeare.txt"));
  ASSERT_TRUE(tokens.ok());

  v1::SubmitJobRequest from_blob = HfJob("");
  from_blob.mutable_spec()->mutable_teacher()->mutable_hf()->set_blob(
      PutBlob(h, HfTeacherFixtureTar()));
  std::vector<v1::Job> jobs;
  for (const v1::SubmitJobRequest& request :
       {HfJob(dir), HfJob(HfTeacherFixtureTar()), from_blob}) {
    auto job = Submit(h, request);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    jobs.push_back(*job);
  }
  for (const v1::Job& job : jobs) {
    const v1::DataInfo& data = job.data_info();
    EXPECT_EQ(data.vocab_size(), vocab);  // config.json's, not the tokenizer's
    EXPECT_EQ(data.tokenizer(), v1::TOKENIZER_KIND_BPE);
    EXPECT_EQ(data.tokenizer_bytes(), tokenizer->serialized_bytes());
    EXPECT_EQ(data.text_tokens(), static_cast<int64_t>(tokens->size()));
    EXPECT_EQ(data.text_bytes(), static_cast<int64_t>(fs::file_size("data/tinyshakespeare.txt")));
    const v1::TeacherInfo& teacher = job.teacher_info();
    EXPECT_TRUE(teacher.inheritable());
    // Llama-family students have the teacher's head width by default.
    EXPECT_EQ(job.spec().space().base().architecture().head_dim(), 16);
    EXPECT_EQ(teacher.size_bytes(), headers->weight_bytes);
    const v1::HfTeacherInfo& hf = teacher.hf();
    EXPECT_EQ(hf.architecture(), "LlamaForCausalLM");
    EXPECT_EQ(hf.family(), "llama");
    EXPECT_EQ(hf.num_layers(), 2);
    EXPECT_EQ(hf.hidden_size(), 64);
    EXPECT_EQ(hf.num_heads(), 4);
    EXPECT_EQ(hf.num_kv_heads(), 2);
    EXPECT_EQ(hf.head_dim(), 16);
    EXPECT_EQ(hf.intermediate_size(), 96);
    EXPECT_EQ(hf.vocab_size(), vocab);
    EXPECT_EQ(hf.max_position_embeddings(), 128);
    EXPECT_TRUE(hf.tie_word_embeddings());
    EXPECT_EQ(hf.parameters(), headers->parameters);
    EXPECT_EQ(hf.weight_bytes(), 4 * headers->parameters);
    EXPECT_EQ(hf.weight_dtype(), "F32");
    EXPECT_EQ(hf.tokenizer_source(), "tokenizer.json");
    EXPECT_EQ(hf.tokenizer_passed_over(), "");
    EXPECT_EQ(std::vector<std::string>(hf.tokenizer_files().begin(), hf.tokenizer_files().end()),
              (std::vector<std::string>{"tokenizer.json", "tokenizer_config.json"}));
    ASSERT_TRUE(hf.has_bos_token_id());
    EXPECT_EQ(hf.bos_token_id(), *tokenizer->bos_to_add());
    // Every job's records are the same, whichever way the checkpoint came,
    // but the batches' seed, which follows the teacher spec (a path, a blob).
    v1::DataInfo info = job.data_info(), first = jobs[0].data_info();
    EXPECT_NE(info.data_seed(), 0u);
    info.clear_data_seed();
    first.clear_data_seed();
    EXPECT_EQ(info.SerializeAsString(), first.SerializeAsString());
    EXPECT_EQ(job.teacher_info().SerializeAsString(), jobs[0].teacher_info().SerializeAsString());
  }
}

// A GPT-2 checkpoint is a kdnas GPT: the job records its architecture and
// students may inherit from it.
TEST(HfTeacherJob, AGpt2TeacherIsInheritable) {
  Harness h(std::make_unique<MemoryStore>());
  v1::SubmitJobRequest request = HfJob(HfTeacherFixture("gpt2"));
  request.mutable_spec()->mutable_space()->mutable_base()->mutable_distillation()->set_init(
      v1::INIT_INHERIT);
  auto job = Submit(h, request);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const v1::TeacherInfo& teacher = job->teacher_info();
  EXPECT_TRUE(teacher.inheritable());
  EXPECT_EQ(teacher.hf().architecture(), "GPT2LMHeadModel");
  EXPECT_EQ(teacher.architecture().num_layers(), 2);
  EXPECT_EQ(teacher.architecture().d_model(), 64);
  EXPECT_EQ(teacher.architecture().num_heads(), 4);
  EXPECT_EQ(teacher.architecture().d_ff(), 256);  // n_inner null: 4 * n_embd
  EXPECT_EQ(teacher.architecture().context_length(), 128);
  EXPECT_EQ(job->data_info().tokenizer(), v1::TOKENIZER_KIND_BPE);
}

// A teacher's students are of its family: the job's base family is the
// teacher's (with its norm epsilon and rope), every leased candidate has it,
// and a spec that names another, or a knob the family lacks, is refused.
TEST(HfTeacherJob, StudentsAreOfTheTeachersFamily) {
  Harness h(std::make_unique<MemoryStore>());
  for (const std::string family : {"llama", "qwen2", "gpt2"}) {
    SCOPED_TRACE(family);
    v1::SubmitJobRequest request = HfJob(HfTeacherFixture(family));
    if (family != "gpt2") {
      auto* kv = request.mutable_spec()->mutable_space()->add_parameters();
      kv->set_name("num_kv_heads");
      for (double v : {1, 2}) kv->mutable_discrete()->add_values(v);
    }
    auto job = Submit(h, request);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    const auto headers = ReadHfCheckpointHeaders(HfTeacherFixture(family));
    const BlockFamily want = StudentFamilyOf(headers->config);
    EXPECT_EQ(FamilyFromProto(job->teacher_info().student_family()), want);
    EXPECT_EQ(FamilyFromProto(job->spec().space().base().architecture().family()), want);
    EXPECT_EQ(job->spec().space().base().architecture().has_family(), family != "gpt2");
    auto lease = Lease(h, "w-" + family);
    ASSERT_TRUE(lease.ok()) << lease.status().ToString();
    const Candidate leased = CandidateFromProto(lease->trial().candidate());
    EXPECT_EQ(leased.architecture.family, want);
    // The training windows are the space's largest context (the base's 64).
    EXPECT_EQ(job->spec().data().window_length(), 64);
    EXPECT_EQ(lease->work().data().window_length(), 64);
    if (family != "gpt2") {
      EXPECT_LE(leased.architecture.num_kv_heads, 2);
    }
    ASSERT_TRUE(Call<v1::Job>([&](auto cb) { h.m().CancelJob(job->name(), cb); }).ok());
  }
  v1::SubmitJobRequest other = HfJob(HfTeacherFixture("llama"));
  other.mutable_spec()
      ->mutable_space()
      ->mutable_base()
      ->mutable_architecture()
      ->mutable_family()
      ->set_kind(v1::FAMILY_KIND_GPT2);
  other.mutable_spec()
      ->mutable_space()
      ->mutable_base()
      ->mutable_architecture()
      ->mutable_family()
      ->set_norm_eps(1e-5);
  EXPECT_EQ(Refused(h, other).rfind(
                "spec.space.base.architecture.family: this teacher's students are made "
                "of llama blocks",
                0),
            0u);
  v1::SubmitJobRequest gqa = HfJob(HfTeacherFixture("gpt2"));
  auto* kv = gqa.mutable_spec()->mutable_space()->add_parameters();
  kv->set_name("num_kv_heads");
  for (double v : {1, 2}) kv->mutable_discrete()->add_values(v);
  EXPECT_EQ(Refused(h, gqa).rfind(
                "spec.space.parameters[2]: num_kv_heads (grouped-query attention) is for "
                "Llama-family students",
                0),
            0u);
}

// The cost model prices students with config.json's vocabulary and the
// bytes of the imported tokenizer every artifact stores.
TEST(HfTeacherJob, StudentsAreSizedWithTheCheckpointsVocabularyAndTokenizer) {
  Harness h(std::make_unique<MemoryStore>());
  auto job = Submit(h, HfJob(HfTeacherFixture()));
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  auto lease = Lease(h, "w1");
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  const CostEstimate expected = EstimateCost(
      CandidateFromProto(lease->trial().candidate()),
      ModelContext{job->teacher_info().hf().vocab_size(), job->data_info().tokenizer_bytes()});
  EXPECT_EQ(lease->trial().predicted().size_bytes(), expected.size_bytes);
  EXPECT_EQ(lease->trial().predicted().params(), expected.params);
  EXPECT_TRUE(lease->work().teacher().has_hf());
  EXPECT_EQ(lease->work().teacher().hf().path(), HfTeacherFixture());
}

TEST(HfTeacherJob, ASentencePieceCheckpointAddsBosAndRefusesInvalidUtf8) {
  Harness h(std::make_unique<MemoryStore>());
  const std::string dir = HfTeacherFixture("llama-sp");
  auto job = Submit(h, HfJob(dir));
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->data_info().tokenizer(), v1::TOKENIZER_KIND_SENTENCEPIECE);
  EXPECT_EQ(job->data_info().vocab_size(), 640);
  EXPECT_EQ(job->teacher_info().hf().tokenizer_source(), "tokenizer.model");
  ASSERT_TRUE(job->teacher_info().hf().has_bos_token_id());
  EXPECT_EQ(job->teacher_info().hf().bos_token_id(), 1);
  // Its students can be GGUF files (llama.cpp's "llama" tokenizer), so
  // llama.cpp measures their latency.
  EXPECT_EQ(job->data_info().gguf_unavailable(), "");
  EXPECT_GT(job->data_info().gguf_tokenizer_bytes(), 0);
  EXPECT_EQ(job->latency_method(), v1::LATENCY_METHOD_LLAMA_CPP) << job->latency_method_reason();

  // Long enough for the space's context (CheckCorpusLength).
  const std::string invalid =
      WriteTemp("invalid.txt", "First Citizen:\nBefore \xff we proceed" +
                                   ReadFile("data/tinyshakespeare.txt").substr(0, 20000));
  v1::SubmitJobRequest request = HfJob(dir);
  request.mutable_spec()->mutable_data()->mutable_text()->set_path(invalid);
  EXPECT_EQ(Refused(h, request),
            "spec.data.text.path: " + invalid +
                ": invalid UTF-8 at byte 22; the teacher's sentencepiece tokenizer "
                "(tokenizer.model, vocabulary 640) encodes UTF-8 text only");
  // A byte-level BPE encodes those bytes.
  request.mutable_spec()->mutable_teacher()->mutable_hf()->set_path(HfTeacherFixture());
  auto byte_level = Submit(h, request);
  ASSERT_TRUE(byte_level.ok()) << byte_level.status().ToString();
  EXPECT_EQ(byte_level->data_info().text_bytes(), 34 + 20000);
  fs::remove(invalid);
}

TEST(HfTeacherJob, RefusalsNameTheField) {
  Harness h(std::make_unique<MemoryStore>());
  const std::string dir = HfTeacherFixture();
  auto starts = [](const std::string& message, const std::string& prefix) {
    EXPECT_EQ(message.rfind(prefix, 0), 0u) << message;
  };

  v1::SubmitJobRequest both = HfJob(dir);
  both.mutable_spec()->mutable_teacher()->mutable_model()->set_path(BundledCorpusTeacher());
  starts(Refused(h, both), "spec.teacher.hf: a job has one teacher");

  v1::SubmitJobRequest neither = HfJob(dir);
  neither.mutable_spec()->clear_teacher();
  starts(Refused(h, neither), "spec.teacher: is required: teacher.model");

  const std::string missing = HfTeacherFixtureMissingTensor();
  starts(Refused(h, HfJob(missing)), "spec.teacher.hf.path: " + missing +
                                         ": tensor model.layers.1.mlp.down_proj.weight: missing");

  starts(Refused(h, HfJob(dir + "/no-such")),
         "spec.teacher.hf.path: the controller cannot read " + dir + "/no-such");

  v1::SubmitJobRequest unknown_blob = HfJob("");
  unknown_blob.mutable_spec()->mutable_teacher()->mutable_hf()->set_blob("blobs/" +
                                                                         std::string(64, 'a'));
  starts(Refused(h, unknown_blob), "spec.teacher.hf.blob: ");

  // Students inherit whole heads of a Llama teacher's width (16 here), which
  // an unset head_dim is (the base's d_model / num_heads is 32).
  v1::SubmitJobRequest inherit = HfJob(dir);
  inherit.mutable_spec()->mutable_space()->mutable_base()->mutable_distillation()->set_init(
      v1::INIT_INHERIT);
  auto inheriting = Submit(h, inherit);
  ASSERT_TRUE(inheriting.ok()) << inheriting.status().ToString();
  EXPECT_EQ(inheriting->spec().space().base().architecture().head_dim(), 16);
  const std::string whole_heads =
      "init: inherit (space.base.distillation.init) keeps whole heads of the llama teacher's "
      "head_dim 16, which rotary positions do not let it narrow: keep head_dim at 16 or use "
      "init: scratch";
  v1::SubmitJobRequest narrow = HfJob(dir);
  auto* base = narrow.mutable_spec()->mutable_space()->mutable_base();
  base->mutable_distillation()->set_init(v1::INIT_INHERIT);
  base->mutable_architecture()->set_head_dim(8);
  EXPECT_EQ(Refused(h, narrow), "spec.space.base.architecture.head_dim: " + whole_heads);
  v1::SubmitJobRequest searched = HfJob(dir);
  searched.mutable_spec()->mutable_space()->mutable_base()->mutable_distillation()->set_init(
      v1::INIT_INHERIT);
  auto* head_dim = searched.mutable_spec()->mutable_space()->add_parameters();
  head_dim->set_name("head_dim");
  for (double d : {16, 8}) head_dim->mutable_discrete()->add_values(d);
  EXPECT_EQ(Refused(h, searched), "spec.space.parameters[2].discrete.values[1]: " + whole_heads);

  v1::SubmitJobRequest long_context = HfJob(dir);
  auto* context = long_context.mutable_spec()->mutable_space()->add_parameters();
  context->set_name("context_length");
  for (double c : {64, 128, 256}) context->mutable_discrete()->add_values(c);
  EXPECT_EQ(Refused(h, long_context),
            "spec.space.parameters[2].discrete.values[2]: context_length 256 exceeds the "
            "teacher's max_position_embeddings 128 (config.json): the teacher runs on every "
            "student's windows");
  v1::SubmitJobRequest long_base = HfJob(dir);
  long_base.mutable_spec()
      ->mutable_space()
      ->mutable_base()
      ->mutable_architecture()
      ->set_context_length(192);
  starts(Refused(h, long_base),
         "spec.space.base.architecture.context_length: context_length 192 "
         "exceeds the teacher's max_position_embeddings 128");
  v1::SubmitJobRequest fits = HfJob(dir);
  context = fits.mutable_spec()->mutable_space()->add_parameters();
  context->set_name("context_length");
  context->mutable_integer_range()->set_min(32);
  context->mutable_integer_range()->set_max(128);
  context->mutable_integer_range()->set_step(32);
  EXPECT_TRUE(Submit(h, fits).ok());

  v1::SubmitJobRequest char_tokenizer = HfJob(dir);
  char_tokenizer.mutable_spec()->mutable_data()->set_tokenizer(v1::TOKENIZER_KIND_CHAR);
  starts(Refused(h, char_tokenizer), "spec.data.tokenizer: char is kdnas's own tokenizer");
  v1::SubmitJobRequest other_kind = HfJob(dir);
  other_kind.mutable_spec()->mutable_data()->set_tokenizer(v1::TOKENIZER_KIND_SENTENCEPIECE);
  EXPECT_EQ(Refused(h, other_kind),
            "spec.data.tokenizer: sentencepiece differs from the teacher's bpe tokenizer "
            "(tokenizer.json, vocabulary " +
                std::to_string(ReadHfCheckpointHeaders(dir)->config.vocab_size) +
                "); a job uses the teacher's tokenizer: "
                "leave data.tokenizer unset");
  v1::SubmitJobRequest same_kind = HfJob(dir);
  same_kind.mutable_spec()->mutable_data()->set_tokenizer(v1::TOKENIZER_KIND_BPE);
  EXPECT_TRUE(Submit(h, same_kind).ok());

  v1::SubmitJobRequest empty = HfJob(dir);
  const std::string empty_path = WriteTemp("empty.txt", "");
  empty.mutable_spec()->mutable_data()->mutable_text()->set_path(empty_path);
  EXPECT_EQ(Refused(h, empty),
            "spec.data.text.path: " + empty_path + ": is empty; a UTF-8 text corpus is needed");
  fs::remove(empty_path);
}

// A corpus too short for the space's largest context is refused at
// submission, not by every trial.
TEST(HfTeacherJob, ACorpusTooShortForTheLargestContextIsRefused) {
  Harness h(std::make_unique<MemoryStore>());
  const std::string dir = HfTeacherFixture();
  const std::string text = ReadFile("data/tinyshakespeare.txt").substr(0, 2000);
  const std::string path = WriteTemp("short.txt", text);
  auto tokens = JobTokenizer::FromHfFiles(ReadHfCheckpointHeaders(dir)->files, 2048)->Encode(text);
  ASSERT_TRUE(tokens.ok());
  const auto n = static_cast<int64_t>(tokens->size());
  const int64_t held_out = n / 10;  // validation_fraction's default, 0.1
  v1::SubmitJobRequest request = HfJob(dir);
  request.mutable_spec()->mutable_data()->mutable_text()->set_path(path);
  auto* context = request.mutable_spec()->mutable_space()->add_parameters();
  context->set_name("context_length");
  context->mutable_discrete()->add_values(16);
  context->mutable_discrete()->add_values(static_cast<double>(held_out));  // needs held_out + 1
  const int index = request.spec().space().parameters_size() - 1;
  EXPECT_EQ(Refused(h, request),
            "spec.data.text: the corpus has " + std::to_string(n) +
                " tokens under the teacher's tokenizer: " + std::to_string(n - held_out) +
                " for training and " + std::to_string(held_out) +
                " held out (data.validation_fraction 0.100000); context_length " +
                std::to_string(held_out) + " (space.parameters[" + std::to_string(index) +
                "].discrete.values[1]) needs at least " + std::to_string(2 * (held_out + 1)) +
                " and " + std::to_string(held_out + 1));
  context->mutable_discrete()->set_values(1, static_cast<double>(held_out - 1));
  EXPECT_TRUE(Submit(h, request).ok());
  fs::remove(path);
}

// export.hf_loadable: every student of the space has a standard config.json,
// checked at submission.
TEST(HfTeacherJob, HfLoadableStudentsAreCheckedAtSubmission) {
  Harness h(std::make_unique<MemoryStore>());
  auto loadable = [](v1::SubmitJobRequest r) {
    r.mutable_spec()->mutable_export_()->set_hf_loadable(true);
    return r;
  };
  auto accepted = Submit(h, loadable(HfJob(HfTeacherFixture("llama"))));
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_TRUE(accepted->spec().export_().hf_loadable());

  EXPECT_EQ(Refused(h, loadable(DemoJob())),
            "spec.export.hf_loadable: the students' tokenizer is kdnas's own (char), which has no "
            "Hugging Face form: only students of an imported teacher (teacher.hf, or a kdnas "
            "student of one) are written in its layout");

  v1::SubmitJobRequest layers = loadable(HfJob(HfTeacherFixture("llama")));
  auto* space = layers.mutable_spec()->mutable_space();
  space->clear_parameters();
  space->mutable_base()->mutable_architecture()->set_num_layers(2);
  for (int heads : {4, 2}) {
    auto* layer = space->mutable_base()->mutable_architecture()->add_layers();
    layer->set_num_heads(heads);
    layer->set_d_ff(96);
  }
  EXPECT_EQ(
      Refused(h, layers),
      "spec.space.base.architecture: export.hf_loadable: layer 1 differs from layer 0 in heads "
      "or MLP width: a config.json describes uniform layers only");
  space->mutable_base()->mutable_architecture()->mutable_layers(1)->set_num_heads(4);
  auto uniform = Submit(h, layers);
  EXPECT_TRUE(uniform.ok()) << uniform.status().ToString();

  v1::SubmitJobRequest gpt2_head_dim = loadable(HfJob(HfTeacherFixture("gpt2")));
  auto* head_dim = gpt2_head_dim.mutable_spec()->mutable_space()->add_parameters();
  head_dim->set_name("head_dim");
  for (double d : {16, 32}) head_dim->mutable_discrete()->add_values(d);
  EXPECT_EQ(
      Refused(h, gpt2_head_dim),
      "spec.space.parameters[2]: export.hf_loadable: GPT-2's config.json has no head_dim (its "
      "heads are n_embd / n_head wide): do not search it");
  // Without the option, the same GPT-2 space is accepted (its trials record
  // why a student has no Hugging Face form).
  gpt2_head_dim.mutable_spec()->clear_export_();
  auto unloadable = Submit(h, gpt2_head_dim);
  EXPECT_TRUE(unloadable.ok()) << unloadable.status().ToString();
}

}  // namespace
}  // namespace kdnas
