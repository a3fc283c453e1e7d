// Writes a Gpt as a self-contained TorchScript module that plain PyTorch loads
// (`torch.jit.load(path)(idx)` maps int64 [B, T] to logits [B, T, V]), with
// the kdnas metadata as extra files of the archive:
//   kdnas/tokenizer.bin      the serialized tokenizer (search/tokenizer.h)
//   kdnas/architecture.json  the kdnas.v1.Architecture (JSON mapping)
// Parameter names are the Gpt's with '.' replaced by '_'. The forward source
// is generated for the architecture (unrolled layers, low-rank factors kept).
#pragma once

#include <torch/script.h>

#include <string>

#include "formats/job_tokenizer.h"
#include "search/status.h"
#include "workers/gpt.h"

namespace kdnas {

inline constexpr char kTokenizerExtraFile[] = "kdnas/tokenizer.bin";
inline constexpr char kArchitectureExtraFile[] = "kdnas/architecture.json";

// The TorchScript name of a Gpt parameter ("layers.0.ln1.weight" -> "layers_0_ln1_weight").
std::string ScriptName(const std::string& parameter_name);

// Builds the module from the model's current weights (its deployed values if
// it was Deploy()ed), masks applied; fake quantization is not scripted, so
// deploy a compressed model first.
StatusOr<torch::jit::Module> BuildScriptModule(GptImpl& model);

// Saves to `path` (written to path + ".tmp" then renamed).
Status SaveTorchScript(GptImpl& model, const JobTokenizer& tokenizer, const std::string& path);

}  // namespace kdnas
