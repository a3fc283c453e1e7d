// The export commands: a TorchScript model (a kdnas teacher or student) in
// another runtime's form.
#include <cstdio>
#include <filesystem>

#include "formats/gguf_architecture.h"
#include "workers/commands.h"
#include "workers/gguf_export.h"
#include "workers/hf_export.h"
#include "workers/inherit.h"
#include "workers/teacher.h"

namespace kdnas {

int ExportHfCommand(const std::vector<std::string>& args) {
  std::string model_path, out, dtype_name = "f16";
  FlagSet flags(
      "kdnas-worker export-hf --model student.pt --out DIR: write a student of an imported "
      "teacher in the teacher's Hugging Face layout (config.json, model.safetensors, the "
      "tokenizer's files).");
  flags.String("model", &model_path, "TorchScript student (kdnas best --out).");
  flags.String("out", &out, "Directory to create.");
  flags.String("dtype", &dtype_name, "Weights' dtype in model.safetensors: f16, bf16 or f32.");
  if (int rc = ParseCommandFlags(flags, args, "export-hf"); rc >= 0) return rc;
  if (model_path.empty())
    return FailCommand("export-hf", InvalidArgument("--model: a TorchScript student is required"));
  if (out.empty())
    return FailCommand("export-hf", InvalidArgument("--out: a directory is required"));
  SafetensorsDtype dtype;
  if (dtype_name == "f16") {
    dtype = SafetensorsDtype::kF16;
  } else if (dtype_name == "bf16") {
    dtype = SafetensorsDtype::kBF16;
  } else if (dtype_name == "f32") {
    dtype = SafetensorsDtype::kF32;
  } else {
    return FailCommand("export-hf",
                       InvalidArgument("--dtype: f16, bf16 or f32 (got " + dtype_name + ")"));
  }
  auto teacher = Teacher::Load(model_path);
  if (!teacher.ok()) return FailCommand("export-hf", teacher.status());
  auto student = TeacherAsGpt(*teacher);
  if (!student.ok()) return FailCommand("export-hf", student.status());
  Status s = WriteHfCheckpoint(**student, teacher->tokenizer(), out, dtype);
  if (!s.ok()) return FailCommand("export-hf", s);
  std::printf("%s\n", out.c_str());
  return 0;
}

int ExportGgufCommand(const std::vector<std::string>& args) {
  std::string model_path, out, name;
  GgufFormatNames formats{"f16", "", "", "", ""};
  FlagSet flags(
      "kdnas-worker export-gguf --model student.pt --out student.gguf [flags]: write a "
      "TorchScript model (a kdnas teacher or student) as a GGUF file that llama.cpp runs, its "
      "matrices quantized by llama.cpp's reference quantizer of the format. Prints the file's "
      "size and the type of every tensor.");
  flags.String("model", &model_path, "TorchScript model (kdnas best --out).");
  flags.String("out", &out, "GGUF file to write.");
  flags.String("name", &name, "general.name in the file (default: the model file's name).");
  flags.String("format", &formats.weight_format,
               "llama.cpp type of every matrix: f32 f16 bf16 q8_0 q6_k q5_k q5_1 q5_0 q4_k q4_1 "
               "q4_0 q3_k q2_k. A type whose block does not divide a row falls back as "
               "llama-quantize's does.");
  flags.String("attention-format", &formats.attention_format,
               "Type of the attention matrices (default: --format).");
  flags.String("ffn-format", &formats.ffn_format,
               "Type of the feed-forward matrices (default: --format).");
  flags.String("embedding-format", &formats.embedding_format,
               "Type of the token embedding (default: --format).");
  flags.String("output-format", &formats.output_format,
               "Type of an untied output head (default: --format).");
  if (int rc = ParseCommandFlags(flags, args, "export-gguf"); rc >= 0) return rc;
  if (model_path.empty())
    return FailCommand("export-gguf", InvalidArgument("--model: a TorchScript model is required"));
  if (out.empty())
    return FailCommand("export-gguf", InvalidArgument("--out: a file name is required"));
  GgufFormatFields fields{"--format", "--attention-format", "--ffn-format", "--embedding-format",
                          "--output-format"};
  auto parsed = ParseGgufFormats(formats, fields);
  if (!parsed.ok()) return FailCommand("export-gguf", parsed.status());
  if (!parsed->set()) {
    return FailCommand("export-gguf",
                       InvalidArgument("--format: one of llama.cpp's types is required"));
  }
  const GgufWeightTypes types = GgufWeightTypesOf(*parsed);
  auto model = Teacher::Load(model_path);
  if (!model.ok()) return FailCommand("export-gguf", model.status());
  auto gpt = TeacherAsGpt(*model);
  if (!gpt.ok()) return FailCommand("export-gguf", gpt.status());
  if (name.empty()) name = std::filesystem::path(model_path).stem().string();
  auto written = WriteGgufFile(**gpt, model->tokenizer(), types, name, out);
  if (!written.ok()) return FailCommand("export-gguf", written.status());
  std::printf("%s: %lld bytes\n", out.c_str(), static_cast<long long>(written->file_bytes));
  for (const GgufTensorInfo& t : written->tensors) {
    std::printf("  %-28s %-6s %s\n", t.name.c_str(), std::string(GgmlTypeName(t.type)).c_str(),
                ShapeText(t.shape).c_str());
  }
  return 0;
}

}  // namespace kdnas
