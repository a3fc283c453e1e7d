#include "workers/inherit.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

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

// Attention of one block: the most important heads, then within each the
// most important head dimensions (q/k share theirs; v has its own). Returns
// the heads kept.
int64_t InheritAttention(BlockImpl& sb, BlockImpl& tb, const LayerStats& ls, const ChannelMap& d) {
  const int64_t Hs = sb.heads, Ht = tb.heads, hds = sb.head_dim, hdt = tb.head_dim;
  auto heads = TopSorted(ls.head_norm, std::min(Hs, Ht));
  const int64_t ndim = std::min(hds, hdt);
  std::vector<int64_t> qkv_dst, qkv_src, v_dst, v_src;
  std::vector<int64_t> q_rows;  // student q rows, rescaled below
  for (int64_t j = 0; j < heads.numel(); ++j) {
    const int64_t h = heads[j].item<int64_t>();
    auto qk_dims = TopSorted(ls.qk_dim_abs[h], ndim);
    auto v_dims = TopSorted(ls.v_dim_abs[h], ndim);
    for (int64_t i = 0; i < ndim; ++i) {
      const int64_t qi = qk_dims[i].item<int64_t>(), vi = v_dims[i].item<int64_t>();
      for (int part = 0; part < 3; ++part) {
        qkv_dst.push_back(part * Hs * hds + j * hds + i);
        qkv_src.push_back(part * Ht * hdt + h * hdt + (part == 2 ? vi : qi));
      }
      q_rows.push_back(j * hds + i);
      v_dst.push_back(j * hds + i);
      v_src.push_back(h * hdt + vi);
    }
  }
  auto qd = torch::tensor(qkv_dst, torch::kInt64), qs = torch::tensor(qkv_src, torch::kInt64);
  auto vd = torch::tensor(v_dst, torch::kInt64), vs = torch::tensor(v_src, torch::kInt64);
  auto qkv = sb.qkv->DenseWeight();
  CopySlice(qkv, tb.qkv->weight, qd, qs, d.d_dst, d.d_src);
  CopySlice(sb.qkv->bias, tb.qkv->bias, qd, qs);
  if (hds != hdt) {  // keep the teacher's attention temperature
    auto rows = torch::tensor(q_rows, torch::kInt64);
    const double scale = std::sqrt(static_cast<double>(hds) / static_cast<double>(hdt));
    qkv.index_put_({rows}, qkv.index({rows}) * scale);
    sb.qkv->bias.index_put_({rows}, sb.qkv->bias.index({rows}) * scale);
  }
  StoreDense(*sb.qkv, qkv);
  auto proj = sb.attn_proj->DenseWeight();
  CopySlice(proj, tb.attn_proj->weight, d.d_dst, d.d_src, vd, vs);
  StoreDense(*sb.attn_proj, proj);
  CopySlice(sb.attn_proj->bias, tb.attn_proj->bias, d.d_dst, d.d_src);
  return heads.numel();
}

// The MLP of one block: its most active neurons. Returns the neurons kept.
int64_t InheritMlp(BlockImpl& sb, BlockImpl& tb, const LayerStats& ls, const ChannelMap& d) {
  const int64_t nf = std::min<int64_t>(sb.d_ff, tb.d_ff);
  auto f_src = TopSorted(ls.mlp_abs, nf), f_dst = Range(nf);
  auto fc = sb.fc->DenseWeight();
  CopySlice(fc, tb.fc->weight, f_dst, f_src, d.d_dst, d.d_src);
  StoreDense(*sb.fc, fc);
  CopySlice(sb.fc->bias, tb.fc->bias, f_dst, f_src);
  auto mproj = sb.mlp_proj->DenseWeight();
  CopySlice(mproj, tb.mlp_proj->weight, d.d_dst, d.d_src, f_dst, f_src);
  StoreDense(*sb.mlp_proj, mproj);
  CopySlice(sb.mlp_proj->bias, tb.mlp_proj->bias, d.d_dst, d.d_src);
  return nf;
}

// Embeddings, the final norm and the head.
void InheritEnds(GptImpl& student, GptImpl& teacher, const ChannelMap& d) {
  const Architecture& sa = student.config().architecture;
  const Architecture& ta = teacher.config().architecture;
  const int64_t V = student.config().vocab_size;
  CopySlice(student.tok_emb, teacher.tok_emb, Range(V), Range(V), d.d_dst, d.d_src);
  const int64_t nc = std::min(sa.context_length, ta.context_length);
  CopySlice(student.pos_emb, teacher.pos_emb, Range(nc), Range(nc), d.d_dst, d.d_src);
  CopySlice(student.ln_f->weight, teacher.ln_f->weight, d.d_dst, d.d_src);
  CopySlice(student.ln_f->bias, teacher.ln_f->bias, d.d_dst, d.d_src);
  if (student.lm_head_weight.defined()) {
    const auto& src = teacher.lm_head_weight.defined() ? teacher.lm_head_weight : teacher.tok_emb;
    CopySlice(student.lm_head_weight, src, Range(V), Range(V), d.d_dst, d.d_src);
  }
}

}  // namespace

Status InheritFromTeacher(GptImpl& student, GptImpl& teacher, const torch::Tensor& calibration_x,
                          std::string* summary) {
  torch::NoGradGuard no_grad;
  const Architecture& sa = student.config().architecture;
  const Architecture& ta = teacher.config().architecture;
  if (student.config().vocab_size != teacher.config().vocab_size) {
    return InvalidArgument("inherit: the student's vocabulary differs from the teacher's");
  }
  if (sa.family.llama() || ta.family.llama()) {
    return FailedPrecondition(std::string("inherit: inheriting into ") +
                              FamilyKindName(sa.family.kind) + " students from a " +
                              FamilyKindName(ta.family.kind) +
                              " teacher is not built yet (GPT-2 blocks only): use init: scratch");
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

  int64_t heads_kept = 0, neurons_kept = 0;
  for (size_t sl = 0; sl < layer_map.size(); ++sl) {
    const int64_t tl = layer_map[sl];
    auto* sb = student.layers[sl]->as<BlockImpl>();
    auto* tb = teacher.layers[tl]->as<BlockImpl>();
    for (auto [s, t] :
         {std::pair{sb->ln1.get(), tb->ln1.get()}, std::pair{sb->ln2.get(), tb->ln2.get()}}) {
      CopySlice(s->weight, t->weight, d.d_dst, d.d_src);
      CopySlice(s->bias, t->bias, d.d_dst, d.d_src);
    }
    heads_kept += InheritAttention(*sb, *tb, stats.layers[tl], d);
    neurons_kept += InheritMlp(*sb, *tb, stats.layers[tl], d);
  }
  if (summary) {
    std::string layers;
    for (int64_t l : layer_map) layers += (layers.empty() ? "" : ",") + std::to_string(l);
    *summary = "inherited teacher layers [" + layers + "], " + std::to_string(nd) + "/" +
               std::to_string(ta.d_model) + " channels, " + std::to_string(heads_kept) +
               " heads, " + std::to_string(neurons_kept) + " MLP neurons";
  }
  return Status::Ok();
}

}  // namespace kdnas
