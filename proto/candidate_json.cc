#include "proto/candidate_json.h"

#include <google/protobuf/util/json_util.h>

#include "proto/api_convert.h"
#include "search/search_space.h"

namespace kdnas {
namespace {

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

Status FromJson(const std::string& json, google::protobuf::Message* m, const std::string& what) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, m, options);
  if (!status.ok())
    return InvalidArgument(what + ": not valid JSON for " + m->GetTypeName() + ": " +
                           std::string(status.message()));
  return Status::Ok();
}

}  // namespace

StatusOr<Candidate> CandidateFromJson(const std::string& json) {
  v1::Candidate proto;
  KDNAS_RETURN_IF_ERROR(FromJson(json, &proto, "candidate"));
  const auto pattern = proto.compression().sparsity_pattern();
  if (pattern < 0 || pattern > 2) {
    return InvalidArgument("candidate.compression.sparsity_pattern: unknown value " +
                           std::to_string(pattern));
  }
  const auto init = proto.distillation().init();
  if (init < 0 || init > 1) {
    return InvalidArgument("candidate.distillation.init: unknown value " + std::to_string(init));
  }
  KDNAS_RETURN_IF_ERROR(CheckFormatNames(proto.compression(), "candidate.compression"));
  Candidate c = CandidateFromProto(proto);
  KDNAS_RETURN_IF_ERROR(ValidateCandidate(c, "candidate"));
  return c;
}

std::string CandidateToJson(const Candidate& c) { return ToJson(CandidateToProto(c)); }

std::string ArchitectureToJson(const Architecture& a) { return ToJson(ArchitectureToProto(a)); }

StatusOr<Architecture> ArchitectureFromJson(const std::string& json) {
  v1::Architecture proto;
  KDNAS_RETURN_IF_ERROR(FromJson(json, &proto, "architecture"));
  return ArchitectureFromProto(proto);
}

}  // namespace kdnas
