// Students built from a teacher, for distillation: a subset of its layers (e.g. every other), a
// narrower feed-forward (hidden size), a narrower width (model dimension) and/or fewer attention
// heads, initialised from the teacher's weights by slicing: every student tensor is the leading
// block of the teacher's (the first layers kept, the first hidden units, the first model
// dimensions, the first heads with their KV heads); head size, RoPE and the vocabulary are kept.
// Teacher and student must share the tokenizer.
// Tested by tests/train/test_distill.cpp and tests/train/test_student_shapes.cpp (slices equal the
// teacher's blocks; a full-size spec reproduces the teacher's logits; errors name the spec).
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
  int dim = 0;              // model width; 0 = the teacher's (a multiple of the head size)
  int n_heads = 0;          // query heads; 0 = the teacher's (dim = n_heads * head size)
};

// "every-other" (layers 0, 2, 4, ...), "layers=0,2,5", "hidden=N", "dim=N", "heads=N", or several
// joined by ',' where unambiguous ("every-other,hidden=128,heads=2"). dim= and heads= both set the
// width (dim = heads * the teacher's head size): give one, or both consistently. Errors name the
// spec and the problem.
Result<StudentSpec> parseStudentSpec(const std::string& spec, int teacher_layers);

// The student's configuration: the teacher's with the spec applied (KV heads keep the teacher's
// query-per-KV ratio, so heads must be a multiple of it). Errors name what does not fit.
Result<LlamaConfig> studentConfig(const LlamaConfig& teacher, const StudentSpec& spec);
// The student's weights copied from the teacher's (see StudentSpec).
Result<TrainParams> studentFromTeacher(const TrainParams& teacher, const StudentSpec& spec);

// Both tokenizers present and identical (pieces, scores, special ids); the message says what differs.
Status checkSameTokenizer(const TokenizerData& teacher, const TokenizerData& student,
                          const std::string& teacher_name, const std::string& student_name);

// A student read from a model file, as `precis-cli distill --student FILE` and the Distill panel
// take it: it must share the teacher's tokenizer (checkSameTokenizer) and vocabulary size; its
// weights become the student's initial TrainParams. Errors name both files and what differs.
Result<TrainParams> studentFromFile(const Model& teacher, const Model& student, const std::string& teacher_name,
                                    const std::string& student_name);

}  // namespace precis
