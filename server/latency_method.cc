#include "server/latency_method.h"

#include "formats/gguf_architecture.h"
#include "proto/api_convert.h"

namespace kdnas {

LatencyMethodChoice ChooseLatencyMethod(const v1::JobSpec& spec, const v1::DataInfo& data,
                                        const v1::TeacherInfo& teacher) {
  auto torch = [](std::string why) {
    return LatencyMethodChoice{v1::LATENCY_METHOD_TORCH, std::move(why)};
  };
  if (!data.gguf_unavailable().empty())
    return torch("the tokenizer cannot be written to GGUF: " + data.gguf_unavailable());
  if (!teacher.has_architecture())
    return torch("the teacher is not a kdnas GPT or a checkpoint kdnas imports");
  const GgufWeightTypes f16 = GgufWeightTypes::All(GgmlType::kF16);
  auto teacher_tensors =
      GgufModelTensors(ArchitectureFromProto(teacher.architecture()), data.vocab_size(), f16);
  if (!teacher_tensors.ok()) return torch("the teacher: " + teacher_tensors.status().message());
  const Architecture base = ArchitectureFromProto(spec.space().base().architecture());
  auto student_tensors = GgufModelTensors(base, data.vocab_size(), f16);
  if (!student_tensors.ok()) return torch("the students: " + student_tensors.status().message());
  if (!base.family.llama()) {
    for (const v1::Parameter& p : spec.space().parameters()) {
      if (p.name() == "head_dim") {
        return torch(
            "the students: llama.cpp's gpt2 architecture has heads of d_model / num_heads "
            "values, and the space searches head_dim");
      }
    }
  }
  return {v1::LATENCY_METHOD_LLAMA_CPP, ""};
}

bool RungsCompareLatency(const v1::Job& job) {
  if (job.latency_method() != v1::LATENCY_METHOD_LLAMA_CPP) return false;
  for (const v1::Objective& o : job.spec().objectives()) {
    if (o.metric() == "latency_ms" || o.metric() == "tokens_per_second") return true;
  }
  return false;
}

}  // namespace kdnas
