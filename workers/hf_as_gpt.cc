#include "workers/hf_as_gpt.h"

#include "formats/hf_kdnas_architecture.h"
#include "workers/student_as_hf.h"

namespace kdnas {

StatusOr<Gpt> HfModelAsGpt(const HfModel& model) {
  const HfModelConfig& config = model.config();
  const Architecture architecture = KdnasArchitectureOf(config);
  Gpt gpt(GptConfig{architecture, Compression{}, static_cast<int>(config.vocab_size), false});
  for (const HfTensorSpec& spec : HfTensorTable(config, "")) {
    if (spec.optional || (spec.part == HfPart::kOutput && architecture.tie_embeddings)) continue;
    Status copied =
        SetStudentTensor(*gpt, spec.part, spec.layer, model.Weight(spec.part, spec.layer));
    if (!copied.ok()) return Internal(spec.name + ": " + copied.message());
  }
  gpt->eval();
  return gpt;
}

}  // namespace kdnas
