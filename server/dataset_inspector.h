// Reads a job's corpus once at submission to learn what the cost model needs
// (vocabulary and tokenizer size), so sizes are exact before any training.
#pragma once

#include "kdnas/v1/job.pb.h"
#include "search/status.h"
#include "server/blob_store.h"

namespace kdnas {

// Resolves data.text (a blob or a path readable by the controller) and builds
// its tokenizer. INVALID_ARGUMENT naming spec.data.text for a missing,
// empty or binary file.
StatusOr<v1::DataInfo> InspectDataset(const v1::DataSpec& data, const BlobStore& blobs);

}  // namespace kdnas
