#include "workers/inherit.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>

#include "workers/hf_as_gpt.h"
#include "workers/torchscript_export.h"

namespace kdnas {
namespace {

// Indices of the `keep` largest scores, in increasing index order.
torch::Tensor TopSorted(const torch::Tensor& scores, int64_t keep) {
  keep = std::min<int64_t>(keep, scores.numel());
  auto idx =
      std::get<1>(torch::sort(scores, /*stable=*/true, 0, /*descending=*/true)).narrow(0, 0, keep);
  return std::get<0>(torch::sort(idx));
}

torch::Tensor Range(int64_t n) { return torch::arange(n, torch::kInt64); }

// dst[rd][:, cd] = src[rs][:, cs] (1-D tensors: rows only).
void CopySlice(torch::Tensor dst, const torch::Tensor& src, const torch::Tensor& rd,
               const torch::Tensor& rs, const torch::Tensor& cd = {},
               const torch::Tensor& cs = {}) {
  if (!cd.defined()) {
    dst.index_put_({rd}, src.index({rs}));
    return;
  }
  dst.index_put_({rd.unsqueeze(1), cd.unsqueeze(0)}, src.index({rs.unsqueeze(1), cs.unsqueeze(0)}));
}

// The dense weight of a student linear, or the product of its factors.
void StoreDense(CompressedLinearImpl& lin, const torch::Tensor& w) {
  if (lin.low_rank()) {
    auto [u, v] = SvdFactors(w, lin.u.size(1));
    lin.u.copy_(u);
    lin.v.copy_(v);
  } else {
    lin.weight.copy_(w);
  }
}

}  // namespace

StatusOr<Gpt> TeacherAsGpt(Teacher& teacher) {
  if (teacher.hf_model() != nullptr) {
    auto gpt = HfModelAsGpt(*teacher.hf_model());
    if (!gpt.ok()) {
      return FailedPrecondition("teacher '" + teacher.path() + "': " + gpt.status().message());
    }
    return gpt;
  }
  if (!teacher.architecture()) {
    return FailedPrecondition("teacher '" + teacher.path() + "' is not a kdnas GPT (no " +
                              std::string(kArchitectureExtraFile) + ")");
  }
  std::map<std::string, torch::Tensor> params;
  for (const auto& p : teacher.module()->named_parameters(/*recurse=*/false))
    params[p.name] = p.value;
  GptConfig config{*teacher.architecture(), Compression{}, teacher.vocab_size(), false};
  Gpt model(config);
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    auto it = params.find(ScriptName(p.key()));
    if (it == params.end() || !it->second.sizes().equals(p.value().sizes())) {
      return FailedPrecondition("teacher '" + teacher.path() +
                                "' is not a dense kdnas GPT: no parameter " + ScriptName(p.key()) +
                                " of the expected shape");
    }
    p.value().copy_(it->second);
  }
  model->eval();
  return model;
}

namespace {

// The residual channels kept: student channel i takes teacher channel d_src[i].
struct ChannelMap {
  torch::Tensor d_dst, d_src;
};

// The rows `rows_src` of a teacher linear into rows `rows_dst` of the
// student's, over the kept residual channels (the linear reads the residual
// stream); biases follow their rows. The student's rows `scaled` (if
// given) are then multiplied by `scale`, weights and biases.
void InheritRows(CompressedLinearImpl& s, const CompressedLinearImpl& t, const torch::Tensor& rd,
                 const torch::Tensor& rs, const ChannelMap& d,
                 const torch::Tensor& scaled = torch::Tensor(), double scale = 1) {
  auto w = s.DenseWeight();
  CopySlice(w, t.weight, rd, rs, d.d_dst, d.d_src);
  if (s.bias.defined()) CopySlice(s.bias, t.bias, rd, rs);
  if (scaled.defined()) {
    w.index_put_({scaled}, w.index({scaled}) * scale);
    if (s.bias.defined()) s.bias.index_put_({scaled}, s.bias.index({scaled}) * scale);
  }
  StoreDense(s, w);
}

// The columns `cs` of a teacher output projection into columns `cd` of the
// student's, over the kept residual channels (its rows).
void InheritColumns(CompressedLinearImpl& s, const CompressedLinearImpl& t, const torch::Tensor& cd,
                    const torch::Tensor& cs, const ChannelMap& d) {
  auto w = s.DenseWeight();
  CopySlice(w, t.weight, d.d_dst, d.d_src, cd, cs);
  StoreDense(s, w);
  if (s.bias.defined()) CopySlice(s.bias, t.bias, d.d_dst, d.d_src);
}

// The rows of head h of width hd, offset by `base` (the index of a fused
// projection's part).
void AppendHeadRows(std::vector<int64_t>& rows, int64_t base, int64_t h, int64_t hd,
                    const torch::Tensor& dims) {
  for (int64_t i = 0; i < dims.numel(); ++i)
    rows.push_back(base + h * hd + dims[i].item<int64_t>());
}

torch::Tensor Indices(const std::vector<int64_t>& v) { return torch::tensor(v, torch::kInt64); }

// What one block's attention kept.
struct AttentionKept {
  int64_t heads = 0, kv_groups = 0;
};

// GPT-2 attention: the most important heads, then within each the most
// important head dimensions (q/k share theirs; v has its own).
AttentionKept InheritGpt2Attention(BlockImpl& sb, BlockImpl& tb, const LayerStats& ls,
                                   const ChannelMap& d) {
  const int64_t Hs = sb.heads, Ht = tb.heads, hds = sb.head_dim, hdt = tb.head_dim;
  auto heads = TopSorted(ls.head_norm, std::min(Hs, Ht));
  const int64_t ndim = std::min(hds, hdt);
  const auto student_dims = Range(ndim);
  std::vector<int64_t> qkv_dst, qkv_src, v_dst, v_src, q_rows;
  for (int64_t j = 0; j < heads.numel(); ++j) {
    const int64_t h = heads[j].item<int64_t>();
    auto qk_dims = TopSorted(ls.qk_dim_abs[h], ndim);
    auto v_dims = TopSorted(ls.v_dim_abs[h], ndim);
    for (int part = 0; part < 3; ++part) {
      AppendHeadRows(qkv_dst, part * Hs * hds, j, hds, student_dims);
      AppendHeadRows(qkv_src, part * Ht * hdt, h, hdt, part == 2 ? v_dims : qk_dims);
    }
    AppendHeadRows(q_rows, 0, j, hds, student_dims);
    AppendHeadRows(v_dst, 0, j, hds, student_dims);
    AppendHeadRows(v_src, 0, h, hdt, v_dims);
  }
  // Heads of another width keep the teacher's attention temperature: the
  // query rows are rescaled before the weight is stored (low-rank students
  // factor the rescaled weight).
  const double scale = std::sqrt(static_cast<double>(hds) / static_cast<double>(hdt));
  InheritRows(*sb.qkv, *tb.qkv, Indices(qkv_dst), Indices(qkv_src), d,
              hds == hdt ? torch::Tensor() : Indices(q_rows), scale);
  InheritColumns(*sb.attn_proj, *tb.attn_proj, Indices(v_dst), Indices(v_src), d);
  return {heads.numel(), heads.numel()};
}

// Llama-family attention, whole heads of the teacher's head_dim (rotary
// positions pair a head's dimensions, so they are not pruned one by one).
// A student KV group takes one teacher KV group's key and value heads and up
// to `gs` (the student's query heads per group) of its query heads. A
// teacher group's heads, most important first, are cut into chunks of gs;
// the student's groups take the most important chunks (summed per-head
// output norms), so a student with smaller groups repeats a teacher group's
// K and V (a multi-head student of a grouped-query teacher of its shape
// computes what the teacher does) and one with larger groups keeps the
// extra query heads from scratch.
AttentionKept InheritLlamaAttention(BlockImpl& sb, BlockImpl& tb, const LayerStats& ls,
                                    const ChannelMap& d) {
  const int64_t hd = tb.head_dim;
  const int64_t gs = sb.heads / sb.kv_heads, gt = tb.heads / tb.kv_heads;
  struct Chunk {
    int64_t group;
    std::vector<int64_t> heads;  // teacher query heads, increasing
    double score = 0;
  };
  std::vector<Chunk> chunks;
  for (int64_t g = 0; g < tb.kv_heads; ++g) {
    auto norms = ls.head_norm.narrow(0, g * gt, gt);
    auto order = std::get<1>(torch::sort(norms, /*stable=*/true, 0, /*descending=*/true));
    for (int64_t start = 0; start < gt; start += gs) {
      Chunk c{g, {}, 0};
      for (int64_t i = start; i < std::min(start + gs, gt); ++i) {
        const int64_t h = order[i].item<int64_t>();
        c.heads.push_back(g * gt + h);
        c.score += norms[h].item<double>();
      }
      std::sort(c.heads.begin(), c.heads.end());
      chunks.push_back(std::move(c));
    }
  }
  std::stable_sort(chunks.begin(), chunks.end(),
                   [](const Chunk& a, const Chunk& b) { return a.score > b.score; });
  chunks.resize(std::min<size_t>(chunks.size(), static_cast<size_t>(sb.kv_heads)));
  std::sort(chunks.begin(), chunks.end(), [](const Chunk& a, const Chunk& b) {
    return std::pair{a.group, a.heads[0]} < std::pair{b.group, b.heads[0]};
  });
  const auto all_dims = Range(hd);
  std::vector<int64_t> q_dst, q_src, kv_dst, kv_src;
  AttentionKept kept;
  for (size_t jg = 0; jg < chunks.size(); ++jg) {
    AppendHeadRows(kv_dst, 0, static_cast<int64_t>(jg), hd, all_dims);
    AppendHeadRows(kv_src, 0, chunks[jg].group, hd, all_dims);
    for (size_t i = 0; i < chunks[jg].heads.size(); ++i) {
      AppendHeadRows(q_dst, 0, static_cast<int64_t>(jg) * gs + static_cast<int64_t>(i), hd,
                     all_dims);
      AppendHeadRows(q_src, 0, chunks[jg].heads[i], hd, all_dims);
    }
    kept.heads += static_cast<int64_t>(chunks[jg].heads.size());
  }
  kept.kv_groups = static_cast<int64_t>(chunks.size());
  InheritRows(*sb.q, *tb.q, Indices(q_dst), Indices(q_src), d);
  InheritRows(*sb.k, *tb.k, Indices(kv_dst), Indices(kv_src), d);
  InheritRows(*sb.v, *tb.v, Indices(kv_dst), Indices(kv_src), d);
  InheritColumns(*sb.attn_proj, *tb.attn_proj, Indices(q_dst), Indices(q_src), d);
  return kept;
}

// The MLP of one block: its most active neurons (GELU outputs, or the
// SwiGLU products), with their rows of fc (or gate and up) and columns of
// the projection. Returns the neurons kept.
int64_t InheritMlp(BlockImpl& sb, BlockImpl& tb, const LayerStats& ls, const ChannelMap& d) {
  const int64_t nf = std::min<int64_t>(sb.d_ff, tb.d_ff);
  auto f_src = TopSorted(ls.mlp_abs, nf), f_dst = Range(nf);
  if (sb.llama) {
    InheritRows(*sb.gate, *tb.gate, f_dst, f_src, d);
    InheritRows(*sb.up, *tb.up, f_dst, f_src, d);
  } else {
    InheritRows(*sb.fc, *tb.fc, f_dst, f_src, d);
  }
  InheritColumns(*sb.mlp_proj, *tb.mlp_proj, f_dst, f_src, d);
  return nf;
}

// A norm's kept channels (RMSNorm has no bias).
void InheritNorm(NormImpl& s, const NormImpl& t, const ChannelMap& d) {
  CopySlice(s.weight, t.weight, d.d_dst, d.d_src);
  if (s.bias.defined()) CopySlice(s.bias, t.bias, d.d_dst, d.d_src);
}

// Embeddings, the final norm and the head.
void InheritEnds(GptImpl& student, GptImpl& teacher, const ChannelMap& d) {
  const Architecture& sa = student.config().architecture;
  const Architecture& ta = teacher.config().architecture;
  const int64_t V = student.config().vocab_size;
  CopySlice(student.tok_emb, teacher.tok_emb, Range(V), Range(V), d.d_dst, d.d_src);
  if (student.pos_emb.defined()) {  // GPT-2 (the Llama family has rotary positions)
    const int64_t nc = std::min(sa.context_length, ta.context_length);
    CopySlice(student.pos_emb, teacher.pos_emb, Range(nc), Range(nc), d.d_dst, d.d_src);
  }
  InheritNorm(*student.ln_f, *teacher.ln_f, d);
  if (student.lm_head_weight.defined()) {
    const auto& src = teacher.lm_head_weight.defined() ? teacher.lm_head_weight : teacher.tok_emb;
    CopySlice(student.lm_head_weight, src, Range(V), Range(V), d.d_dst, d.d_src);
  }
}

// Why `student` cannot inherit from `teacher`, or "".
std::string WhyNotInheritable(const GptImpl& student, const GptImpl& teacher) {
  const Architecture& sa = student.config().architecture;
  const Architecture& ta = teacher.config().architecture;
  if (student.config().vocab_size != teacher.config().vocab_size)
    return "the student's vocabulary differs from the teacher's";
  if (sa.family.kind != ta.family.kind) {
    return std::string("a ") + FamilyKindName(sa.family.kind) + " student is not made of its " +
           FamilyKindName(ta.family.kind) + " teacher's blocks";
  }
  if (!sa.family.llama()) return "";
  if (sa.head_dim() != ta.head_dim()) {
    return "a " + std::string(FamilyKindName(sa.family.kind)) +
           " student inherits whole heads, so its head_dim must be the teacher's " +
           std::to_string(ta.head_dim()) + " (it is " + std::to_string(sa.head_dim()) + ")";
  }
  return "";
}

}  // namespace

Status InheritFromTeacher(GptImpl& student, GptImpl& teacher, const torch::Tensor& calibration_x,
                          std::string* summary) {
  torch::NoGradGuard no_grad;
  const Architecture& sa = student.config().architecture;
  const Architecture& ta = teacher.config().architecture;
  if (const std::string why = WhyNotInheritable(student, teacher); !why.empty()) {
    return FailedPrecondition("inherit: " + why);
  }
  ActivationStats stats;
  teacher.forward(calibration_x, &stats);

  // Layers: the most important teacher blocks, in order.
  std::vector<double> importance;
  for (const auto& l : stats.layers) importance.push_back(l.block_importance);
  auto layer_scores = torch::tensor(importance, torch::kDouble);
  auto kept_layers = TopSorted(layer_scores, std::min(sa.num_layers, ta.num_layers));
  std::vector<int64_t> layer_map(kept_layers.data_ptr<int64_t>(),
                                 kept_layers.data_ptr<int64_t>() + kept_layers.numel());

  // Residual channels: |LayerNorm outputs| summed over the kept layers.
  auto channel_scores = torch::zeros({ta.d_model});
  for (int64_t tl : layer_map) channel_scores += stats.layers[tl].ln_channel_abs;
  const int64_t nd = std::min(sa.d_model, ta.d_model);
  const ChannelMap d{Range(nd), TopSorted(channel_scores, nd)};
  InheritEnds(student, teacher, d);

  int64_t heads_kept = 0, groups_kept = 0, neurons_kept = 0;
  for (size_t sl = 0; sl < layer_map.size(); ++sl) {
    const int64_t tl = layer_map[sl];
    auto* sb = student.layers[sl]->as<BlockImpl>();
    auto* tb = teacher.layers[tl]->as<BlockImpl>();
    InheritNorm(*sb->ln1, *tb->ln1, d);
    InheritNorm(*sb->ln2, *tb->ln2, d);
    const AttentionKept kept = sb->llama ? InheritLlamaAttention(*sb, *tb, stats.layers[tl], d)
                                         : InheritGpt2Attention(*sb, *tb, stats.layers[tl], d);
    heads_kept += kept.heads;
    groups_kept += kept.kv_groups;
    neurons_kept += InheritMlp(*sb, *tb, stats.layers[tl], d);
  }
  if (summary) {
    std::ostringstream out;
    out << "inherited teacher layers [";
    for (size_t i = 0; i < layer_map.size(); ++i) out << (i > 0 ? "," : "") << layer_map[i];
    out << "], " << nd << "/" << ta.d_model << " channels, " << heads_kept << " heads";
    if (sa.family.llama()) out << " in " << groups_kept << " KV groups";
    out << ", " << neurons_kept << " MLP neurons";
    *summary = out.str();
  }
  return Status::Ok();
}

}  // namespace kdnas
