// What the controller reads from a job's files at submission, without
// LibTorch: the teacher's tokenizer, which is the job's only tokenizer (the
// cost model sizes candidates with it and the workers train with it), what
// the teacher is (server/teacher_inputs.h), and the corpus under that
// tokenizer. A file that is not what the spec says it is is refused here,
// before any trial runs.
#pragma once

#include "kdnas/v1/job.pb.h"
#include "search/cost_model.h"
#include "search/status.h"
#include "server/blob_store.h"

namespace kdnas {

struct JobInputs {
  v1::DataInfo data;
  v1::TeacherInfo teacher;
};

// Resolves spec.teacher.model or spec.teacher.hf, and spec.data.text (blobs,
// or paths readable by the controller), reads the teacher's tokenizer and
// encodes the corpus with it. DataInfo: the tokenizer's kind, vocab_size
// (the model's logits; config.json's vocab_size for an imported teacher),
// tokenizer_bytes (JobTokenizer::serialized_bytes(), what every artifact
// stores), gguf_tokenizer_bytes (or gguf_unavailable), the corpus's bytes
// and tokens (no BOS). INVALID_ARGUMENT naming
// the field: an unreadable file, a teacher that is not a TorchScript file
// with an embedded tokenizer or a checkpoint kdnas runs, spec.data.tokenizer
// set to another kind than the teacher's, an empty corpus, or one the
// tokenizer cannot encode (invalid UTF-8 with the byte offset, unless the
// tokenizer is byte-level).
StatusOr<JobInputs> InspectJobInputs(const v1::JobSpec& spec, const BlobStore& blobs);

// What the cost model needs of a job's data (DataInfo), the size of GGUF
// students included.
ModelContext ModelContextOf(const v1::DataInfo& data);

}  // namespace kdnas
