// Students built from a teacher, for distillation: a subset of its layers (e.g. every other) and/or
// a narrower feed-forward (the first N hidden units of each layer), initialised from the teacher's
// weights; or a fresh configuration. Teacher and student must share the tokenizer.
// Tested by tests/train/test_distill.cpp.
#pragma once
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/model/model.h"
#include "engine/train/train_params.h"

namespace precis {

struct StudentSpec {
  std::vector<int> layers;  // teacher layers to keep, in order (empty = all)
  int hidden_dim = 0;       // 0 = the teacher's
};

// "every-other" (layers 0, 2, 4, ...), "layers=0,2,5", "hidden=N", or several joined by ','
// where unambiguous ("every-other,hidden=128"). Errors name the spec and the problem.
Result<StudentSpec> parseStudentSpec(const std::string& spec, int teacher_layers);

// The student's weights copied from the teacher's (see StudentSpec).
Result<TrainParams> studentFromTeacher(const TrainParams& teacher, const StudentSpec& spec);

// Both tokenizers present and identical (pieces, scores, special ids); the message says what differs.
Status checkSameTokenizer(const TokenizerData& teacher, const TokenizerData& student,
                          const std::string& teacher_name, const std::string& student_name);

}  // namespace precis
