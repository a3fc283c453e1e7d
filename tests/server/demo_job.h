// The small job the controller's tests submit: the bundled corpus, a fixture
// teacher over its tokenizer, and a space of depth and weight bits.
#pragma once

#include "kdnas/v1/search_service.pb.h"
#include "tests/fixtures/teacher_fixture.h"

namespace kdnas {

inline v1::SubmitJobRequest DemoJob(int max_trials = 4) {
  v1::SubmitJobRequest r;
  r.set_request_id("req-1");
  auto* spec = r.mutable_spec();
  spec->mutable_data()->mutable_text()->set_path("data/tinyshakespeare.txt");
  spec->mutable_teacher()->mutable_model()->set_path(BundledCorpusTeacher());
  auto* p = spec->mutable_space()->add_parameters();
  p->set_name("num_layers");
  p->mutable_integer_range()->set_min(1);
  p->mutable_integer_range()->set_max(4);
  auto* bits = spec->mutable_space()->add_parameters();
  bits->set_name("weight_bits");
  for (double b : {16, 8, 4, 3, 2}) bits->mutable_discrete()->add_values(b);
  spec->mutable_budget()->set_max_trials(max_trials);
  spec->mutable_budget()->set_max_attempts(2);
  spec->set_seed(3);
  return r;
}

}  // namespace kdnas
