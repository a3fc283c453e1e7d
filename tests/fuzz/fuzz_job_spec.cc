// libFuzzer target: request parsing and validation. The input is read as a
// binary SubmitJobRequest and as a YAML/JSON job file; whatever parses goes
// through the controller's validation and the search-space construction.
// Nothing may crash, hang or leak, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kdnas/v1/search_service.pb.h"
#include "proto/api_convert.h"
#include "search/search_space.h"
#include "server/cli/yaml_to_proto.h"
#include "server/job_validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  kdnas::v1::SubmitJobRequest request;
  if (request.ParseFromString(bytes)) {
    if (kdnas::ValidateJobSpec(request.spec(), kdnas::ModelContext{65, 200}).ok()) {
      (void)kdnas::SearchSpace::Create(kdnas::SearchSpaceSpecFromProto(request.spec().space()));
      (void)kdnas::ApplyJobDefaults(request.spec());
    }
  }
  kdnas::v1::JobSpec spec;
  if (kdnas::cli::ParseYamlMessage(bytes, "fuzz.yaml", &spec).ok()) {
    (void)kdnas::ValidateJobSpec(spec, kdnas::ModelContext{65, 200});
  }
  return 0;
}
