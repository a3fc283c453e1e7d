// What the controller reads from a job's teacher at submission, without
// LibTorch: the job's one tokenizer (JobTokenizer: every student carries its
// serialized form, and the cost model counts those bytes) and the
// TeacherInfo the job records, one function per kind of teacher.
#pragma once

#include "formats/job_tokenizer.h"
#include "kdnas/v1/job.pb.h"
#include "search/status.h"
#include "server/blob_store.h"

namespace kdnas {

struct TeacherInputs {
  JobTokenizer tokenizer;
  v1::TeacherInfo info;
};

// Reads the TorchScript teacher's kdnas/tokenizer.bin and, when present,
// kdnas/architecture.json (then info.inheritable). INVALID_ARGUMENT naming
// spec.teacher.model.path or .blob.
StatusOr<TeacherInputs> InspectTorchScriptTeacher(const v1::FileRef& ref, const BlobStore& blobs);

}  // namespace kdnas
