#include "workers/teacher.h"

#include <fstream>
#include <sstream>

#include "formats/hf_checkpoint.h"
#include "proto/candidate_json.h"
#include "workers/hf_weights.h"
#include "workers/torchscript_export.h"

namespace kdnas {
namespace {

std::string FirstLine(const std::string& s) {
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

StatusOr<Teacher> Teacher::Load(const std::string& path, const std::string& tokenizer_path) {
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) return NotFound("teacher: cannot open '" + path + "'");
  }
  torch::jit::ExtraFilesMap extra{{kTokenizerExtraFile, ""}, {kArchitectureExtraFile, ""}};
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU, extra);
  } catch (const c10::Error& e) {
    return DataLoss("teacher '" + path +
                    "': not a loadable TorchScript file: " + FirstLine(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return DataLoss("teacher '" + path +
                    "': not a loadable TorchScript file: " + FirstLine(e.what()));
  }
  std::string tokenizer_bytes = extra[kTokenizerExtraFile];
  std::string source = "the archive's " + std::string(kTokenizerExtraFile);
  if (tokenizer_bytes.empty()) {
    if (tokenizer_path.empty()) {
      return InvalidArgument("teacher '" + path + "' has no " + kTokenizerExtraFile +
                             " extra file; pass its tokenizer file (--teacher-tokenizer)");
    }
    std::ifstream in(tokenizer_path, std::ios::binary);
    if (!in) return NotFound("teacher tokenizer: cannot open '" + tokenizer_path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    tokenizer_bytes = ss.str();
    source = "'" + tokenizer_path + "'";
  }
  auto tokenizer = JobTokenizer::Deserialize(tokenizer_bytes);
  if (!tokenizer.ok()) {
    return DataLoss("teacher tokenizer (" + source + "): " + tokenizer.status().message());
  }
  Teacher teacher(std::move(module), std::move(*tokenizer));
  teacher.path_ = path;
  teacher.module_.eval();
  if (!extra[kArchitectureExtraFile].empty()) {
    auto arch = ArchitectureFromJson(extra[kArchitectureExtraFile]);
    if (!arch.ok()) return DataLoss("teacher '" + path + "': " + arch.status().message());
    teacher.architecture_ = *arch;
  }
  return teacher;
}

StatusOr<Teacher> Teacher::LoadHf(const std::string& directory) {
  KDNAS_ASSIGN_OR_RETURN(HfCheckpointHeaders headers, ReadHfCheckpointHeaders(directory));
  auto tokenizer =
      JobTokenizer::FromHfFiles(headers.files, static_cast<int>(headers.config.vocab_size));
  if (!tokenizer.ok()) {
    return InvalidArgument("teacher '" + directory + "': " + tokenizer.status().message());
  }
  KDNAS_ASSIGN_OR_RETURN(HfModel model, LoadHfModel(directory));
  Teacher teacher(torch::jit::Module(), std::move(*tokenizer));
  teacher.hf_ = std::make_shared<const HfModel>(std::move(model));
  teacher.path_ = directory;
  teacher.hf_weight_dtype_ = headers.weight_dtype;
  return teacher;
}

int Teacher::context_length() const {
  if (hf_) return static_cast<int>(hf_->config().max_position_embeddings);
  return architecture_ ? architecture_->context_length : 0;
}

StatusOr<torch::Tensor> Teacher::Logits(const torch::Tensor& idx) {
  try {
    c10::InferenceMode guard;
    if (hf_) return hf_->Logits(idx);
    auto out = module_.forward({idx});
    if (!out.isTensor())
      return InvalidArgument("teacher '" + path_ + "': forward does not return a tensor");
    return out.toTensor().to(torch::kFloat);
  } catch (const c10::Error& e) {
    return Internal("teacher '" + path_ + "' failed on a [" + std::to_string(idx.size(0)) + ", " +
                    std::to_string(idx.size(1)) +
                    "] batch: " + FirstLine(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return Internal("teacher '" + path_ + "' failed: " + FirstLine(e.what()));
  }
}

Status Teacher::CheckContext(int context) {
  if (context_length() > 0 && context > context_length()) {
    return InvalidArgument("candidate.architecture.context_length: " + std::to_string(context) +
                           " exceeds the teacher's context length " +
                           std::to_string(context_length()));
  }
  auto idx = torch::zeros({1, context}, torch::kInt64);
  auto logits = Logits(idx);
  if (!logits.ok()) {
    return InvalidArgument("teacher '" + path_ + "' does not accept int64 token ids [1, " +
                           std::to_string(context) + "]: " + logits.status().message());
  }
  const auto& t = *logits;
  if (t.dim() != 3 || t.size(0) != 1 || t.size(1) != context) {
    std::ostringstream shape;
    shape << t.sizes();
    return InvalidArgument("teacher '" + path_ + "': logits have shape " + shape.str() +
                           ", expected [1, " + std::to_string(context) + ", V]");
  }
  if (t.size(2) != vocab_size()) {
    return InvalidArgument("teacher '" + path_ + "': vocabulary mismatch: logits have " +
                           std::to_string(t.size(2)) + " entries but its tokenizer has " +
                           std::to_string(vocab_size()) + " ids");
  }
  return Status::Ok();
}

}  // namespace kdnas
