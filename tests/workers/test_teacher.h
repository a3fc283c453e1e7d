// A small kdnas teacher trained on the shipped corpus, for the test suites
// whose students distil from one (SetUpTestSuite).
#pragma once

#include <string>

#include "search/candidate.h"
#include "workers/train_teacher.h"

namespace kdnas::testing {

inline StatusOr<TeacherTrainingReport> TrainTestTeacher(const std::string& out_path,
                                                        const Architecture& architecture,
                                                        int64_t steps) {
  TeacherTrainingOptions t;
  t.architecture = architecture;
  t.data_path = "data/tinyshakespeare.txt";
  t.out_path = out_path;
  t.steps = steps;
  t.eval_tokens = 2048;
  return TrainTeacher(t, nullptr);
}

}  // namespace kdnas::testing
