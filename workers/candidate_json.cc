#include "workers/candidate_json.h"

#include <google/protobuf/util/json_util.h>

#include "search/search_space.h"

namespace kdnas {
namespace {

Architecture ArchitectureFromProto(const v1::Architecture& p) {
  Architecture a;
  a.num_layers = p.num_layers() ? p.num_layers() : 4;
  a.d_model = p.d_model() ? p.d_model() : 128;
  a.num_heads = p.num_heads() ? p.num_heads() : 4;
  a.d_ff = p.d_ff() ? p.d_ff() : 4 * a.d_model;
  a.context_length = p.context_length() ? p.context_length() : 64;
  a.tie_embeddings = p.tie_embeddings();
  for (const auto& l : p.layers()) {
    a.layers.push_back({l.num_heads() ? l.num_heads() : a.num_heads, l.d_ff() ? l.d_ff() : a.d_ff});
  }
  return a;
}

v1::Architecture ArchitectureToProto(const Architecture& a) {
  v1::Architecture p;
  p.set_num_layers(a.num_layers);
  p.set_d_model(a.d_model);
  p.set_num_heads(a.num_heads);
  p.set_d_ff(a.d_ff);
  p.set_context_length(a.context_length);
  p.set_tie_embeddings(a.tie_embeddings);
  for (const auto& l : a.layers) {
    auto* e = p.add_layers();
    e->set_num_heads(l.num_heads);
    e->set_d_ff(l.d_ff);
  }
  return p;
}

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
  if (!status.ok()) return InvalidArgument(what + ": not valid JSON for " + m->GetTypeName() + ": " +
                                           std::string(status.message()));
  return Status::Ok();
}

}  // namespace

Candidate CandidateFromProto(const v1::Candidate& p) {
  Candidate c;
  c.architecture = ArchitectureFromProto(p.architecture());
  const auto& q = p.compression();
  c.compression.weight_bits = q.weight_bits() ? q.weight_bits() : 16;
  c.compression.group_size = q.group_size() ? q.group_size() : 128;
  c.compression.embedding_bits = q.embedding_bits() ? q.embedding_bits() : 16;
  c.compression.sparsity = q.sparsity();
  c.compression.sparsity_pattern = static_cast<SparsityPattern>(q.sparsity_pattern());
  c.compression.low_rank_ratio = q.low_rank_ratio();
  const auto& d = p.distillation();
  c.distillation.temperature = d.temperature() != 0 ? d.temperature() : 2.0;
  c.distillation.alpha = d.has_alpha() ? d.alpha() : 0.5;
  c.distillation.init = d.init() == v1::INIT_INHERIT ? Init::kInherit : Init::kScratch;
  return c;
}

v1::Candidate CandidateToProto(const Candidate& c) {
  v1::Candidate p;
  *p.mutable_architecture() = ArchitectureToProto(c.architecture);
  auto* q = p.mutable_compression();
  q->set_weight_bits(c.compression.weight_bits);
  q->set_group_size(c.compression.group_size);
  q->set_embedding_bits(c.compression.embedding_bits);
  q->set_sparsity(c.compression.sparsity);
  q->set_sparsity_pattern(static_cast<v1::SparsityPattern>(c.compression.sparsity_pattern));
  q->set_low_rank_ratio(c.compression.low_rank_ratio);
  auto* d = p.mutable_distillation();
  d->set_temperature(c.distillation.temperature);
  d->set_alpha(c.distillation.alpha);
  d->set_init(c.distillation.init == Init::kInherit ? v1::INIT_INHERIT : v1::INIT_SCRATCH);
  return p;
}

StatusOr<Candidate> CandidateFromJson(const std::string& json) {
  v1::Candidate proto;
  KDNAS_RETURN_IF_ERROR(FromJson(json, &proto, "candidate"));
  const auto pattern = proto.compression().sparsity_pattern();
  if (pattern < 0 || pattern > 2) {
    return InvalidArgument("candidate.compression.sparsity_pattern: unknown value " + std::to_string(pattern));
  }
  const auto init = proto.distillation().init();
  if (init < 0 || init > 1) {
    return InvalidArgument("candidate.distillation.init: unknown value " + std::to_string(init));
  }
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
