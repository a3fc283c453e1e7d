// What the controller reads from a job's teacher at submission, without
// LibTorch: the job's one tokenizer (JobTokenizer: every student carries its
// serialized form, and the cost model counts those bytes) and the
// TeacherInfo the job records. Two kinds of teacher, one function each:
// a kdnas TorchScript file (spec.teacher.model) and a Hugging Face
// checkpoint (spec.teacher.hf).
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

// Reads the checkpoint (a directory, or a tar of one: a blob or a path) with
// ReadHfCheckpointHeaders and loads its tokenizer for config.json's
// vocab_size. Fills info.hf completely; info.size_bytes is the weights'
// stored bytes (HfTeacherInfo.weight_bytes) and info.inheritable is false.
// INVALID_ARGUMENT naming spec.teacher.hf.path or .blob, then the path or
// blob, then the file and key or the tensor:
// "spec.teacher.hf.path: /ckpt: tensor model.norm.weight: missing (...)".
StatusOr<TeacherInputs> InspectHfTeacher(const v1::FileRef& ref, const BlobStore& blobs);

}  // namespace kdnas
