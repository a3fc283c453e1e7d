#include "workers/train_teacher.h"

#include "evaluator/evaluate.h"
#include "search/search_space.h"
#include "workers/corpus.h"
#include "workers/gpt.h"
#include "workers/torch_status.h"
#include "workers/torchscript_export.h"

namespace kdnas {

StatusOr<TeacherTrainingReport> TrainTeacher(const TeacherTrainingOptions& o,
                                             const ProgressCallback& progress) {
  return CatchTorchErrors("train-teacher", [&]() -> StatusOr<TeacherTrainingReport> {
    Candidate c;
    c.architecture = o.architecture;
    KDNAS_RETURN_IF_ERROR(ValidateCandidate(c, "teacher"));
    if (o.out_path.empty())
      return InvalidArgument("--out: the TorchScript file to write is required");
    if (o.steps <= 0)
      return InvalidArgument("--steps: must be > 0, got " + std::to_string(o.steps));
    if (o.threads > 0) torch::set_num_threads(o.threads);
    CorpusOptions corpus_options;
    corpus_options.tokenizer_kind = o.tokenizer_kind;
    corpus_options.validation_fraction = o.validation_fraction;
    KDNAS_ASSIGN_OR_RETURN(Corpus corpus, Corpus::FromFile(o.data_path, nullptr, corpus_options));
    const int C = o.architecture.context_length;
    KDNAS_RETURN_IF_ERROR(corpus.CheckContext(C));

    torch::manual_seed(o.seed);
    GptConfig config{o.architecture, Compression{}, corpus.tokenizer().vocab_size(), false};
    Gpt model(config);
    Batch eval =
        MakeBatch(corpus.val_tokens(), EvalStarts(corpus.val_tokens().numel(), C, o.eval_tokens), C,
                  corpus.bos());
    LogitsFn fn = [&](const torch::Tensor& x) { return model->forward(x); };
    TrainOptions t;
    t.steps = o.steps;
    t.batch_size = o.batch_size;
    t.learning_rate = o.learning_rate;
    t.alpha = 0;
    t.data_seed = o.seed;
    t.progress_every_steps = std::max<int64_t>(1, o.steps / 20);
    t.report_steps = {o.steps / 4, o.steps / 2, 3 * o.steps / 4};
    KDNAS_ASSIGN_OR_RETURN(TrainResult r,
                           Train(
                               *model, corpus, nullptr, Compression{}, t,
                               [&] { return ValidationLoss(fn, eval.x, eval.y); }, progress));
    if (r.stopped)
      return Cancelled("teacher training stopped at step " + std::to_string(r.steps_run));
    TeacherTrainingReport report;
    report.val_loss = ValidationLoss(fn, eval.x, eval.y);
    report.train_loss = r.train_loss;
    report.train_seconds = r.train_seconds;
    report.vocab_size = corpus.tokenizer().vocab_size();
    for (const auto& p : model->parameters()) report.params += p.numel();
    KDNAS_RETURN_IF_ERROR(SaveTorchScript(*model, corpus.tokenizer(), o.out_path));
    return report;
  });
}

}  // namespace kdnas
