// The job's latency method: llama.cpp when the tokenizer, the teacher and
// every student of the space can be GGUF files, else LibTorch with the reason.
#include "server/latency_method.h"

#include <gtest/gtest.h>

namespace kdnas {
namespace {

struct Inputs {
  v1::JobSpec spec;
  v1::DataInfo data;
  v1::TeacherInfo teacher;
};

Inputs Writable() {
  Inputs in;
  in.data.set_vocab_size(65);
  auto* t = in.teacher.mutable_architecture();
  t->set_num_layers(4);
  t->set_d_model(128);
  t->set_num_heads(4);
  t->set_d_ff(512);
  t->set_context_length(64);
  auto* base = in.spec.mutable_space()->mutable_base()->mutable_architecture();
  base->set_num_layers(2);
  base->set_d_model(64);
  base->set_num_heads(4);
  base->set_d_ff(256);
  base->set_context_length(64);
  return in;
}

void ExpectTorch(const Inputs& in, const std::string& reason) {
  LatencyMethodChoice c = ChooseLatencyMethod(in.spec, in.data, in.teacher);
  EXPECT_EQ(c.method, v1::LATENCY_METHOD_TORCH);
  EXPECT_NE(c.reason.find(reason), std::string::npos) << c.reason;
}

TEST(LatencyMethod, LlamaCppWhenEverythingIsAGgufFile) {
  const Inputs in = Writable();
  LatencyMethodChoice c = ChooseLatencyMethod(in.spec, in.data, in.teacher);
  EXPECT_EQ(c.method, v1::LATENCY_METHOD_LLAMA_CPP);
  EXPECT_EQ(c.reason, "");
}

TEST(LatencyMethod, LibTorchWithTheReasonOtherwise) {
  Inputs tokenizer = Writable();
  tokenizer.data.set_gguf_unavailable("a SentencePiece Unigram model");
  ExpectTorch(tokenizer, "the tokenizer cannot be written to GGUF: a SentencePiece Unigram model");

  Inputs opaque = Writable();
  opaque.teacher.clear_architecture();
  ExpectTorch(opaque, "the teacher is not a kdnas GPT");

  Inputs layers = Writable();
  auto* base = layers.spec.mutable_space()->mutable_base()->mutable_architecture();
  for (int d_ff : {256, 128}) {
    auto* l = base->add_layers();
    l->set_num_heads(4);
    l->set_d_ff(d_ff);
  }
  ExpectTorch(layers, "the students: GGUF: llama.cpp's gpt2 architecture has layers of one width");

  Inputs head_dim = Writable();
  head_dim.spec.mutable_space()->add_parameters()->set_name("head_dim");
  ExpectTorch(head_dim, "the space searches head_dim");
}

}  // namespace
}  // namespace kdnas
