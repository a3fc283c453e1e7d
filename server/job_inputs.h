// What the controller reads from a job's files at submission, without
// LibTorch: the teacher's embedded tokenizer, which is the job's only
// tokenizer (the cost model sizes candidates with it and the workers train
// with it), whether students can inherit the teacher's weights, and the
// corpus under that tokenizer. A file that is not what the spec says it is
// is refused here, before any trial runs.
#pragma once

#include "kdnas/v1/job.pb.h"
#include "search/status.h"
#include "server/blob_store.h"

namespace kdnas {

struct JobInputs {
  v1::DataInfo data;
  v1::TeacherInfo teacher;
};

// Resolves spec.teacher.model and spec.data.text (blobs, or paths readable
// by the controller), reads the teacher's kdnas/tokenizer.bin and
// kdnas/architecture.json and encodes the corpus. INVALID_ARGUMENT naming
// the field: an unreadable file, a teacher that is not a TorchScript file
// with an embedded tokenizer, spec.data.tokenizer set to another kind than
// the teacher's, a corpus the tokenizer cannot encode (with the byte offset).
StatusOr<JobInputs> InspectJobInputs(const v1::JobSpec& spec, const BlobStore& blobs);

}  // namespace kdnas
