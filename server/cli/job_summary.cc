#include "server/cli/job_summary.h"

#include <sstream>

#include "proto/tokenizer_kind_name.h"
#include "server/cli/format.h"

namespace kdnas::cli {

std::string ShortName(kdnas::v1::JobState state) {
  std::string name = kdnas::v1::JobState_Name(state);
  return name.substr(std::string("JOB_STATE_").size());
}

std::string ShortName(kdnas::v1::TrialState state) {
  std::string name = kdnas::v1::TrialState_Name(state);
  return name.substr(std::string("TRIAL_STATE_").size());
}

std::string TrialStateLabel(const kdnas::v1::Trial& trial) {
  if (trial.state() == kdnas::v1::TRIAL_STATE_SUCCEEDED && !trial.infeasible_reason().empty())
    return "INFEASIBLE";
  return ShortName(trial.state());
}

std::string TrialNote(const kdnas::v1::Trial& trial) {
  return trial.infeasible_reason().empty() ? trial.state_message() : trial.infeasible_reason();
}

std::string TeacherPassLine(const kdnas::v1::JobProgress& p) {
  std::ostringstream out;
  out << "teacher pass: " << p.teacher_shards_done() << " of " << p.teacher_shards()
      << " shards done";
  if (p.teacher_shards_reused() > 0) out << " (" << p.teacher_shards_reused() << " reused)";
  out << ", " << FormatFixed(p.teacher_pass_worker_seconds(), 1) << " worker-seconds";
  if (p.teacher_shards_done() < p.teacher_shards()) out << "; trials wait for it";
  return out.str();
}

std::string SummarizeJob(const kdnas::v1::Job& job) {
  const auto& p = job.progress();
  const auto& budget = job.spec().budget();
  int64_t done = p.trials_succeeded() + p.trials_failed() + p.trials_stopped();
  std::ostringstream out;
  out << job.name();
  if (!job.spec().display_name().empty()) out << " \"" << job.spec().display_name() << "\"";
  out << "  " << ShortName(job.state());
  if (!job.state_message().empty()) out << " (" << job.state_message() << ")";
  out << "\n  trials: " << done << " done of " << budget.max_trials() << " ("
      << p.trials_succeeded() << " succeeded";
  if (p.trials_infeasible() > 0) out << " (" << p.trials_infeasible() << " over a measured limit)";
  out << ", " << p.trials_failed() << " failed, " << p.trials_stopped() << " stopped), "
      << p.trials_running() << " running, " << p.trials_pending() << " pending, "
      << p.trials_rejected() << " rejected\n"
      << "  worker-seconds: " << FormatFixed(p.worker_seconds_used(), 1);
  if (budget.max_worker_seconds() > 0) out << " of " << FormatFixed(budget.max_worker_seconds(), 0);
  out << "\n";
  if (p.teacher_shards() > 0) out << "  " << TeacherPassLine(p) << "\n";
  out << "  frontier: " << p.frontier_size() << " points, hypervolume "
      << FormatFixed(p.hypervolume(), 6) << "\n";
  return out.str();
}

std::string SummarizeInputs(const kdnas::v1::Job& job) {
  const auto& teacher = job.teacher_info();
  const auto& data = job.data_info();
  std::ostringstream out;
  if (teacher.has_hf()) {
    const auto& hf = teacher.hf();
    out << "  teacher: Hugging Face " << hf.family() << " (" << hf.architecture() << "), "
        << hf.num_layers() << " layers, hidden " << hf.hidden_size() << ", " << hf.num_heads()
        << " heads (" << hf.num_kv_heads() << " kv, head dim " << hf.head_dim() << "), ffn "
        << hf.intermediate_size() << ", context " << hf.max_position_embeddings() << ", vocabulary "
        << hf.vocab_size() << (hf.tie_word_embeddings() ? ", tied" : "") << "; "
        << hf.weight_dtype() << ", " << FormatCount(hf.parameters()) << " parameters ("
        << FormatBytes(hf.weight_bytes()) << ")\n";
  } else if (teacher.size_bytes() > 0) {
    out << "  teacher: ";
    if (teacher.has_architecture()) {
      kdnas::v1::Candidate c;
      *c.mutable_architecture() = teacher.architecture();
      out << "kdnas GPT " << SummarizeCandidate(c)
          << (teacher.inheritable() ? " (inheritable), " : ", ");
    } else {
      out << "TorchScript module, ";
    }
    out << FormatBytes(teacher.size_bytes()) << "\n";
  }
  // What the students are made of (unset: kdnas's GPT-2 blocks).
  const kdnas::v1::Family& family = teacher.student_family();
  const double eps = family.norm_eps() != 0 ? family.norm_eps() : 1e-5;
  if (family.kind() != kdnas::v1::FAMILY_KIND_GPT2) {
    const kdnas::v1::Rope& rope = family.rope();
    out << "  students: " << (family.kind() == kdnas::v1::FAMILY_KIND_QWEN2 ? "qwen2" : "llama")
        << " blocks (RMSNorm eps " << eps << ", rope theta "
        << (rope.theta() != 0 ? rope.theta() : 10000.0);
    if (rope.scaling() == kdnas::v1::Rope::SCALING_LINEAR)
      out << ", linear scaling " << rope.factor();
    if (rope.scaling() == kdnas::v1::Rope::SCALING_LLAMA3)
      out << ", llama3 scaling " << rope.factor();
    out << ")\n";
  } else if (teacher.size_bytes() > 0) {
    out << "  students: gpt2 blocks (LayerNorm eps " << eps << ")\n";
  }
  if (data.vocab_size() > 0) {
    out << "  tokenizer: " << kdnas::TokenizerKindName(data.tokenizer());
    if (teacher.has_hf()) {
      const auto& hf = teacher.hf();
      out << " from " << hf.tokenizer_source() << " (files:";
      for (const auto& f : hf.tokenizer_files()) out << " " << f;
      out << ")";
      if (hf.has_bos_token_id()) out << ", BOS " << hf.bos_token_id();
    }
    out << ", vocabulary " << data.vocab_size() << ", " << FormatBytes(data.tokenizer_bytes())
        << " in every student\n";
    if (teacher.has_hf() && !teacher.hf().tokenizer_passed_over().empty())
      out << "    tokenizer.json passed over: " << teacher.hf().tokenizer_passed_over() << "\n";
    out << "  corpus: " << FormatBytes(data.text_bytes()) << ", " << FormatCount(data.text_tokens())
        << " tokens\n";
  }
  if (job.latency_method() == kdnas::v1::LATENCY_METHOD_LLAMA_CPP) {
    out << "  latency: llama.cpp on each student's GGUF file, against the teacher's F16 GGUF\n";
  } else if (job.latency_method() == kdnas::v1::LATENCY_METHOD_TORCH) {
    out << "  latency: LibTorch (not llama.cpp: " << job.latency_method_reason() << ")\n";
  }
  return out.str();
}

std::string SummarizeCandidate(const kdnas::v1::Candidate& c) {
  const auto& a = c.architecture();
  const auto& q = c.compression();
  std::ostringstream out;
  out << a.num_layers() << "L d" << a.d_model() << " h" << a.num_heads() << " ff" << a.d_ff()
      << " ctx" << a.context_length();
  if (a.tie_embeddings()) out << " tied";
  if (!q.weight_format().empty() && q.weight_format() != "kdnas") {
    out << " " << q.weight_format();
    const std::pair<const char*, const std::string*> overrides[] = {{"attn", &q.attention_format()},
                                                                    {"ffn", &q.ffn_format()},
                                                                    {"emb", &q.embedding_format()},
                                                                    {"out", &q.output_format()}};
    for (const auto& [name, format] : overrides)
      if (!format->empty() && *format != q.weight_format()) out << " " << name << "=" << *format;
  } else if (q.weight_bits() > 0 && q.weight_bits() < 16) {
    out << " w" << q.weight_bits() << "/";
    if (q.group_size() < 0) {
      out << "ch";
    } else {
      out << "g" << (q.group_size() == 0 ? 128 : q.group_size());
    }
  }
  if (q.embedding_bits() > 0 && q.embedding_bits() < 16) out << " e" << q.embedding_bits();
  if (q.sparsity_pattern() == kdnas::v1::SPARSITY_PATTERN_2_4)
    out << " 2:4";
  else if (q.sparsity_pattern() == kdnas::v1::SPARSITY_PATTERN_1_4)
    out << " 1:4";
  else if (q.sparsity() > 0)
    out << " s" << FormatFixed(q.sparsity(), 2);
  if (q.low_rank_ratio() > 0) out << " r" << FormatFixed(q.low_rank_ratio(), 2);
  if (c.distillation().init() == kdnas::v1::INIT_INHERIT) out << " inherit";
  return out.str();
}

}  // namespace kdnas::cli
