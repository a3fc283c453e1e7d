// The files a job spec names (FileRef: a blob or a path), as the controller
// reads them at submission: the local path of each, and the field path that
// errors name.
#pragma once

#include <string>

#include "kdnas/v1/job.pb.h"
#include "search/status.h"
#include "server/blob_store.h"

namespace kdnas {

// `field` with ".blob" or ".path" appended, as `ref` is set:
// JobFileField(ref, "spec.data.text") is "spec.data.text.path" for a path.
std::string JobFileField(const v1::FileRef& ref, const std::string& field);

// What a user reads for `ref` in a message: the blob's name or the path.
const std::string& JobFileName(const v1::FileRef& ref);

// The local path of `ref`: a blob's file in the blob store, or the path as
// given. INVALID_ARGUMENT naming JobFileField(ref, field) when the blob has
// not been uploaded or the controller cannot read the path (a file, or a
// directory when `directory_ok`).
StatusOr<std::string> ResolveJobFile(const v1::FileRef& ref, const std::string& field,
                                     const BlobStore& blobs, bool directory_ok = false);

}  // namespace kdnas
