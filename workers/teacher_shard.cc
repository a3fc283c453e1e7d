#include "workers/teacher_shard.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

namespace kdnas {
namespace {

constexpr char kMagic[8] = {'K', 'D', 'N', 'A', 'S', 'T', 'S', '1'};
constexpr char kHeldOutMagic[8] = {'K', 'D', 'N', 'A', 'S', 'T', 'H', '1'};
constexpr int64_t kHeaderFields = 8;
constexpr int64_t kHeaderBytes = sizeof(kMagic) + kHeaderFields * 8;
// Windows per teacher call: a held-out step holds all of its windows, whose
// logits at once could take gigabytes at a large vocabulary.
constexpr int64_t kWindowsPerCall = 32;

std::vector<int64_t> HeaderOf(const TeacherShardSpec& s) {
  return {s.vocab_size, s.full() ? 1 : 0, s.cache.top_k,
          s.batch_size, s.window,         static_cast<int64_t>(s.data_seed),
          s.first_step, s.steps};
}

Status ReadAt(int fd, int64_t offset, void* out, int64_t bytes, const std::string& path) {
  auto* p = static_cast<char*>(out);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, p, static_cast<size_t>(bytes), offset);
    if (n <= 0) return DataLoss("teacher shard '" + path + "': truncated");
    p += n;
    offset += n;
    bytes -= n;
  }
  return Status::Ok();
}

// Writes a shard whose step s holds the windows starts_of(s) of `tokens`.
Status WriteShard(const TeacherShardSpec& spec, const torch::Tensor& tokens,
                  std::optional<int32_t> bos,
                  const std::function<std::vector<int64_t>(int64_t step)>& starts_of,
                  const TeacherCache::LogitsFn& teacher, const std::string& path,
                  const std::function<bool(int64_t steps_done)>& progress) {
  if (spec.batch_size <= 0 || spec.window <= 0 || spec.steps <= 0 || spec.first_step < 0)
    return InvalidArgument("teacher shard: batch_size, window and steps must be > 0");
  if (!spec.full() && (spec.cache.top_k <= 0 || spec.cache.top_k >= spec.vocab_size))
    return InvalidArgument("teacher shard: top_k must be in (0, vocabulary)");
  torch::NoGradGuard no_grad;
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return Internal("teacher shard: cannot write '" + tmp + "'");
  out.write(spec.held_out ? kHeldOutMagic : kMagic, sizeof(kMagic));
  const std::vector<int64_t> header = HeaderOf(spec);
  out.write(reinterpret_cast<const char*>(header.data()), kHeaderBytes - sizeof(kMagic));
  for (int64_t i = 0; i < spec.steps; ++i) {
    if (progress && progress(i)) {
      out.close();
      std::filesystem::remove(tmp);
      return Cancelled("teacher shard: stopped");
    }
    const std::vector<int64_t> starts = starts_of(spec.first_step + i);
    if (static_cast<int64_t>(starts.size()) != spec.batch_size)
      return Internal("teacher shard: a step of " + std::to_string(starts.size()) + " windows");
    const Batch batch = MakeBatch(tokens, starts, spec.window, bos);
    out.write(reinterpret_cast<const char*>(starts.data()),
              static_cast<std::streamsize>(starts.size() * sizeof(int64_t)));
    for (int64_t from = 0; from < spec.batch_size; from += kWindowsPerCall) {
      const int64_t count = std::min(kWindowsPerCall, spec.batch_size - from);
      KDNAS_ASSIGN_OR_RETURN(torch::Tensor logits, teacher(batch.x.narrow(0, from, count)));
      if (logits.size(-1) != spec.vocab_size) {
        return FailedPrecondition("teacher shard: the teacher has " +
                                  std::to_string(logits.size(-1)) + " logits, the job " +
                                  std::to_string(spec.vocab_size));
      }
      auto logp = torch::log_softmax(logits.to(torch::kFloat), -1);
      for (int64_t w = 0; w < count; ++w) {
        const EncodedTargets e = EncodeTargets(logp[w], spec.full(), spec.cache.top_k);
        for (const torch::Tensor* t : {&e.a, &e.b}) {
          if (!t->defined()) continue;
          out.write(static_cast<const char*>(t->data_ptr()),
                    static_cast<std::streamsize>(t->numel() * t->element_size()));
        }
      }
    }
  }
  out.close();
  if (!out) return Internal("teacher shard: writing '" + tmp + "' failed");
  std::filesystem::rename(tmp, path);
  return Status::Ok();
}

}  // namespace

Status WriteTeacherShard(const TeacherShardSpec& spec, const Corpus& corpus,
                         const TeacherCache::LogitsFn& teacher, const std::string& path,
                         const std::function<bool(int64_t steps_done)>& progress) {
  if (spec.held_out) return InvalidArgument("teacher shard: a training shard is not held-out");
  if (spec.window > 0) KDNAS_RETURN_IF_ERROR(corpus.CheckContext(spec.window));
  const auto& tokens = corpus.train_tokens();
  return WriteShard(
      spec, tokens, corpus.bos(),
      [&](int64_t step) {
        return BatchStarts(spec.data_seed, step, spec.batch_size, tokens.numel(), spec.window);
      },
      teacher, path, progress);
}

Status WriteHeldOutTeacherShard(int context, int64_t eval_tokens, int64_t vocab_size,
                                const TeacherCacheOptions& cache, const Corpus& corpus,
                                const TeacherCache::LogitsFn& teacher, const std::string& path,
                                const std::function<bool(int64_t steps_done)>& progress) {
  if (context <= 0 || eval_tokens <= 0)
    return InvalidArgument("held-out teacher shard: context and eval_tokens must be > 0");
  KDNAS_RETURN_IF_ERROR(corpus.CheckContext(context));
  const auto& tokens = corpus.val_tokens();
  const std::vector<int64_t> starts = EvalStarts(tokens.numel(), context, eval_tokens);
  TeacherShardSpec spec;
  spec.held_out = true;
  spec.window = context;
  spec.batch_size = static_cast<int>(starts.size());
  spec.steps = 1;
  spec.vocab_size = vocab_size;
  spec.cache = cache;
  return WriteShard(
      spec, tokens, corpus.bos(), [&](int64_t) { return starts; }, teacher, path, progress);
}

StatusOr<std::shared_ptr<TeacherShard>> TeacherShard::Open(const std::string& path) {
  std::shared_ptr<TeacherShard> shard(new TeacherShard());
  shard->path_ = path;
  shard->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (shard->fd_ < 0) return NotFound("teacher shard '" + path + "': cannot open");
  char magic[sizeof(kMagic)];
  KDNAS_RETURN_IF_ERROR(ReadAt(shard->fd_, 0, magic, sizeof(magic), path));
  const bool held_out = std::memcmp(magic, kHeldOutMagic, sizeof(kMagic)) == 0;
  if (!held_out && std::memcmp(magic, kMagic, sizeof(kMagic)) != 0)
    return DataLoss("teacher shard '" + path + "': not a kdnas teacher shard");
  std::vector<int64_t> h(kHeaderFields);
  KDNAS_RETURN_IF_ERROR(ReadAt(shard->fd_, sizeof(kMagic), h.data(), kHeaderFields * 8, path));
  TeacherShardSpec& s = shard->spec_;
  s.held_out = held_out;
  s.vocab_size = h[0];
  s.cache.top_k = static_cast<int>(h[2]);
  s.cache.full_vocab_limit = h[1] != 0 ? s.vocab_size : s.vocab_size - 1;
  s.batch_size = static_cast<int>(h[3]);
  s.window = static_cast<int>(h[4]);
  s.data_seed = static_cast<uint64_t>(h[5]);
  s.first_step = h[6];
  s.steps = h[7];
  if (s.vocab_size <= 0 || s.batch_size <= 0 || s.window <= 0 || s.steps <= 0 ||
      (h[1] == 0 && (s.cache.top_k <= 0 || s.cache.top_k >= s.vocab_size)))
    return DataLoss("teacher shard '" + path + "': bad header");
  shard->file_bytes_ = static_cast<int64_t>(std::filesystem::file_size(path));
  const int64_t expected = kHeaderBytes + s.steps * s.batch_size * (8 + shard->WindowBytes());
  if (shard->file_bytes_ != expected) {
    return DataLoss("teacher shard '" + path + "': " + std::to_string(shard->file_bytes_) +
                    " bytes, its header says " + std::to_string(expected));
  }
  return shard;
}

TeacherShard::~TeacherShard() {
  if (fd_ >= 0) ::close(fd_);
}

int64_t TeacherShard::WindowBytes() const {
  const int64_t T = spec_.window;
  if (spec_.full()) return T * spec_.vocab_size * 2;
  const int64_t id_bytes = TopKIdType(spec_.vocab_size) == torch::kShort ? 2 : 4;
  return T * spec_.cache.top_k * id_bytes + T * (spec_.cache.top_k + 1) * 2;
}

StatusOr<TeacherTargets> TeacherShard::Targets(int64_t step,
                                               const std::vector<int64_t>& starts) const {
  const TeacherShardSpec& s = spec_;
  if (step < s.first_step || step >= s.first_step + s.steps)
    return OutOfRange("teacher shard: step " + std::to_string(step) + " is not in it");
  const int64_t B = s.batch_size;
  const int64_t record = B * (8 + WindowBytes());
  int64_t offset = kHeaderBytes + (step - s.first_step) * record;
  std::vector<int64_t> stored(static_cast<size_t>(B));
  KDNAS_RETURN_IF_ERROR(ReadAt(fd_, offset, stored.data(), B * 8, path_));
  offset += B * 8;
  if (stored != starts) {
    return FailedPrecondition("teacher shard '" + path_ + "': step " + std::to_string(step) +
                              " holds other windows than the trial draws");
  }
  const int64_t T = s.window, k = s.cache.top_k;
  std::vector<EncodedTargets> windows(static_cast<size_t>(B));
  std::vector<const EncodedTargets*> pointers;
  for (auto& e : windows) {
    if (s.full()) {
      e.a = torch::empty({T, s.vocab_size}, torch::kHalf);
    } else {
      e.a = torch::empty({T, k}, TopKIdType(s.vocab_size));
      e.b = torch::empty({T, k + 1}, torch::kHalf);
    }
    for (torch::Tensor* t : {&e.a, &e.b}) {
      if (!t->defined()) continue;
      const int64_t bytes = t->numel() * t->element_size();
      KDNAS_RETURN_IF_ERROR(ReadAt(fd_, offset, t->data_ptr(), bytes, path_));
      offset += bytes;
    }
    pointers.push_back(&e);
  }
  return DecodeTargets(pointers, s.full());
}

Status TeacherShardSet::Add(std::shared_ptr<TeacherShard> shard) {
  const TeacherShardSpec& s = shard->spec();
  if (s.held_out) return FailedPrecondition("teacher shards: a held-out shard holds no step");
  for (const auto& other : shards_) {
    const TeacherShardSpec& o = other->spec();
    if (o.batch_size != s.batch_size || o.window != s.window || o.data_seed != s.data_seed ||
        o.vocab_size != s.vocab_size || o.full() != s.full() || o.cache.top_k != s.cache.top_k)
      return FailedPrecondition("teacher shards: of different passes");
    if (s.first_step < o.first_step + o.steps && o.first_step < s.first_step + s.steps)
      return FailedPrecondition("teacher shards: overlapping steps");
  }
  shards_.push_back(std::move(shard));
  std::sort(shards_.begin(), shards_.end(), [](const auto& a, const auto& b) {
    return a->spec().first_step < b->spec().first_step;
  });
  return Status::Ok();
}

const TeacherShard* TeacherShardSet::Find(int64_t step) const {
  for (const auto& shard : shards_) {
    const TeacherShardSpec& s = shard->spec();
    if (step >= s.first_step && step < s.first_step + s.steps) return shard.get();
  }
  return nullptr;
}

bool TeacherShardSet::Covers(int64_t step) const { return Find(step) != nullptr; }

StatusOr<TeacherTargets> TeacherShardSet::Targets(int64_t step,
                                                  const std::vector<int64_t>& starts) const {
  const TeacherShard* shard = Find(step);
  if (shard == nullptr)
    return FailedPrecondition("teacher pass: no shard holds step " + std::to_string(step));
  return shard->Targets(step, starts);
}

int64_t TeacherShardSet::bytes() const {
  int64_t total = 0;
  for (const auto& shard : shards_) total += shard->file_bytes();
  return total;
}

int64_t TeacherShardSet::steps() const {
  int64_t total = 0;
  for (const auto& shard : shards_) total += shard->spec().steps;
  return total;
}

}  // namespace kdnas
