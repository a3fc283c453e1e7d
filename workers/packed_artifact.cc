#include "workers/packed_artifact.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "search/artifact_layout.h"
#include "workers/quantize.h"

namespace kdnas {
namespace {

void PutU8(std::string* out, uint32_t v) { out->push_back(static_cast<char>(v & 0xff)); }
void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) PutU8(out, v >> (8 * i));
}
void PutF64(std::string* out, double f) {
  uint64_t v;
  std::memcpy(&v, &f, 8);
  PutU32(out, static_cast<uint32_t>(v));
  PutU32(out, static_cast<uint32_t>(v >> 32));
}

// Packs values LSB first into one bit stream.
class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}
  void Put(uint32_t value, int bits) {
    acc_ |= static_cast<uint64_t>(value & ((1u << bits) - 1)) << n_;
    n_ += bits;
    while (n_ >= 8) {
      out_->push_back(static_cast<char>(acc_ & 0xff));
      acc_ >>= 8;
      n_ -= 8;
    }
  }
  void Flush() {
    if (n_ > 0) out_->push_back(static_cast<char>(acc_ & 0xff));
    acc_ = 0;
    n_ = 0;
  }

 private:
  std::string* out_;
  uint64_t acc_ = 0;
  int n_ = 0;
};

int Log2(int m) {
  int b = 0;
  while ((1 << b) < m) ++b;
  return b;
}

Status EncodeTensor(const TensorLayout& t, const WeightRef& w, std::string* out) {
  torch::NoGradGuard no_grad;
  auto value = w.param->detach().to(torch::kFloat).reshape({t.rows, t.cols}).contiguous();
  torch::Tensor mask;
  if (w.mask && w.mask->defined()) {
    mask = w.mask->reshape({t.rows, t.cols}).contiguous();
    value = value * mask;
  } else {
    mask = torch::ones({t.rows, t.cols});
  }
  const int64_t kept = mask.sum().item<int64_t>();
  if (kept != t.kept) {
    return Internal("artifact: " + t.name + " keeps " + std::to_string(kept) +
                    " weights, the layout " + std::to_string(t.kept));
  }
  PutU8(out, t.bits);
  PutU8(out, static_cast<uint32_t>(t.sparse));
  PutU8(out, t.n);
  PutU8(out, t.m);
  PutU32(out, static_cast<uint32_t>(t.group_size));
  PutU32(out, static_cast<uint32_t>(t.rows));
  PutU32(out, static_cast<uint32_t>(t.cols));
  PutU32(out, static_cast<uint32_t>(t.stored_values));
  const size_t payload_start = out->size();
  const float* mk = mask.data_ptr<float>();
  const int64_t numel = t.numel();
  // 1. Sparsity metadata.
  if (t.sparse == SparseEncoding::kBitmap) {
    BitWriter bw(out);
    for (int64_t i = 0; i < numel; ++i) bw.Put(mk[i] != 0 ? 1 : 0, 1);
    bw.Flush();
  } else if (t.sparse == SparseEncoding::kNofM) {
    BitWriter bw(out);
    const int bits = Log2(t.m);
    for (int64_t g = 0; g < numel / t.m; ++g) {
      int found = 0;
      for (int j = 0; j < t.m; ++j) {
        if (mk[g * t.m + j] != 0) {
          bw.Put(static_cast<uint32_t>(j), bits);
          ++found;
        }
      }
      if (found != t.n)
        return Internal("artifact: " + t.name + " breaks the N:M pattern in group " +
                        std::to_string(g));
    }
    bw.Flush();
  }
  const bool sparse = t.sparse != SparseEncoding::kDense;
  // 2. Scales and 3. values.
  if (t.bits >= 16) {
    auto half = value.to(torch::kHalf).contiguous();
    const at::Half* h = half.data_ptr<at::Half>();
    for (int64_t i = 0; i < numel; ++i) {
      if (sparse && mk[i] == 0) continue;
      PutU8(out, h[i].x);
      PutU8(out, h[i].x >> 8);
    }
  } else {
    QuantizedTensor qt = QuantizeGroups(value, t.bits, t.group_size);
    auto scales = qt.scales.contiguous();
    const at::Half* s = scales.data_ptr<at::Half>();
    for (int64_t i = 0; i < scales.numel(); ++i) {
      PutU8(out, s[i].x);
      PutU8(out, s[i].x >> 8);
    }
    const int32_t* q = qt.q.data_ptr<int32_t>();
    BitWriter bw(out);
    for (int64_t i = 0; i < numel; ++i) {
      if (sparse && mk[i] == 0) continue;
      bw.Put(static_cast<uint32_t>(q[i]), t.bits);
    }
    bw.Flush();
  }
  const int64_t written = static_cast<int64_t>(out->size() - payload_start);
  if (written != t.payload_bytes()) {
    return Internal("artifact: " + t.name + " payload is " + std::to_string(written) +
                    " bytes, the layout " + std::to_string(t.payload_bytes()));
  }
  return Status::Ok();
}

}  // namespace

Status WritePackedArtifact(GptImpl& model, const Candidate& c, const JobTokenizer& tokenizer,
                           const std::string& path, int64_t* size_bytes) {
  const Architecture& a = c.architecture;
  const std::string& tok = tokenizer.serialized();
  ArtifactLayout layout =
      LayoutArtifact(c, tokenizer.vocab_size(), static_cast<int64_t>(tok.size()));
  std::vector<WeightRef> weights = model.Weights();
  if (weights.size() != layout.tensors.size()) {
    return Internal("artifact: the model has " + std::to_string(weights.size()) +
                    " tensors, the layout " + std::to_string(layout.tensors.size()));
  }
  std::string out;
  out.reserve(static_cast<size_t>(layout.total_bytes));
  const BlockFamily& f = a.family;
  out += "KDNA";
  PutU32(&out, kArtifactFormatVersion);
  PutU32(&out, static_cast<uint32_t>(tokenizer.vocab_size()));
  PutU32(&out, a.num_layers);
  PutU32(&out, a.d_model);
  PutU32(&out, a.num_heads);
  PutU32(&out, a.num_kv_heads);
  PutU32(&out, a.fixed_head_dim);
  PutU32(&out, a.context_length);
  PutU8(&out, static_cast<uint32_t>(f.kind));
  PutU8(&out, c.compression.weight_bits);
  PutU8(&out, c.compression.embedding_bits);
  PutU8(&out, a.tie_embeddings ? 1 : 0);
  PutU8(&out, static_cast<uint32_t>(c.compression.sparsity_pattern));
  PutU8(&out, static_cast<uint32_t>(f.rope.scaling));
  out.append(2, '\0');
  PutU32(&out, static_cast<uint32_t>(c.compression.group_size));
  PutF64(&out, c.compression.sparsity);
  PutF64(&out, c.compression.low_rank_ratio);
  PutF64(&out, f.norm_eps);
  PutF64(&out, f.rope.theta);
  PutF64(&out, f.rope.factor);
  PutF64(&out, f.rope.low_freq_factor);
  PutF64(&out, f.rope.high_freq_factor);
  PutU32(&out, static_cast<uint32_t>(f.rope.original_max_position_embeddings));
  PutU32(&out, static_cast<uint32_t>(tok.size()));
  PutU32(&out, static_cast<uint32_t>(layout.tensors.size()));
  out.append(12, '\0');
  if (static_cast<int64_t>(out.size()) != kArtifactHeaderBytes)
    return Internal("artifact: the header is " + std::to_string(out.size()) + " bytes");
  for (int l = 0; l < a.num_layers; ++l) {
    PutU32(&out, a.layer_heads(l));
    PutU32(&out, a.layer_kv_heads(l));
    PutU32(&out, a.layer_d_ff(l));
  }
  out += tok;
  for (size_t i = 0; i < weights.size(); ++i) {
    const TensorLayout& t = layout.tensors[i];
    if (weights[i].name != t.name || weights[i].param->numel() != t.numel()) {
      return Internal("artifact: tensor " + std::to_string(i) + " is " + weights[i].name +
                      ", the layout has " + t.name);
    }
    KDNAS_RETURN_IF_ERROR(EncodeTensor(t, weights[i], &out));
  }
  if (static_cast<int64_t>(out.size()) != layout.total_bytes) {
    return Internal("artifact: wrote " + std::to_string(out.size()) +
                    " bytes, the cost model predicts " + std::to_string(layout.total_bytes));
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f.good()) {
      std::remove(tmp.c_str());
      return Internal("artifact: cannot write '" + tmp + "'");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Internal("artifact: cannot rename to '" + path + "'");
  }
  if (size_bytes) *size_bytes = static_cast<int64_t>(out.size());
  return Status::Ok();
}

}  // namespace kdnas
