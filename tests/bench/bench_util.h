// Pieces the controller benchmarks share: latency samples, RSS of a process,
// and a kdnas-controller child process with a synthetic job submitted.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "kdnas/v1/search_service.grpc.pb.h"
#include "tests/fixtures/teacher_fixture.h"

namespace kdnas::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Latency samples of one RPC kind (microseconds).
class Latencies {
 public:
  void Add(double us) {
    std::lock_guard<std::mutex> lock(mu_);
    samples_.push_back(us);
  }
  double Percentile(double p) {
    std::lock_guard<std::mutex> lock(mu_);
    if (samples_.empty()) return 0;
    std::sort(samples_.begin(), samples_.end());
    return samples_[std::min(samples_.size() - 1, static_cast<size_t>(p * samples_.size()))];
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    samples_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<double> samples_;
};

inline int64_t RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

// A kdnas-controller child process on a temporary SQLite data directory.
class ControllerProcess {
 public:
  // log_level: the controller's --log-level (its default, info, writes two
  // lines per trial).
  ControllerProcess(const std::string& binary, int64_t lease_ttl_ms,
                    const std::string& log_level = "info")
      : dir_(std::filesystem::temp_directory_path() / ("kdnas-bench-" + std::to_string(getpid()))) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    address_ = "127.0.0.1:" + std::to_string(30000 + getpid() % 20000);
    pid_ = fork();
    if (pid_ == 0) {
      std::string listen = "--listen=" + address_, data = "--data-dir=" + (dir_ / "data").string();
      std::string ttl = "--lease-ttl-ms=" + std::to_string(lease_ttl_ms);
      const std::string level = "--log-level=" + log_level;
      execl(binary.c_str(), binary.c_str(), listen.c_str(), data.c_str(), ttl.c_str(),
            "--metrics-listen=127.0.0.1:0", level.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    ready_ =
        channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(20));
  }
  ~ControllerProcess() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    std::filesystem::remove_all(dir_);
  }
  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  const std::string& address() const { return address_; }

  // A job over continuous distillation knobs (every trial a new candidate)
  // and a few discrete size knobs (a small frontier), answered synthetically.
  grpc::Status SubmitSyntheticJob(int64_t max_trials) {
    {
      // Long enough for the default context (the controller checks it).
      std::ofstream corpus(dir_ / "corpus.txt");
      for (int i = 0; i < 20; ++i)
        corpus << "the quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!\n";
    }
    // The synthetic workers never load the teacher; the controller reads its tokenizer.
    const std::string teacher = (dir_ / "teacher.pt").string();
    if (kdnas::Status s =
            kdnas::WriteTeacherFixtureForCorpus(teacher, (dir_ / "corpus.txt").string());
        !s.ok()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, s.ToString());
    }
    kdnas::v1::SubmitJobRequest submit;
    auto* spec = submit.mutable_spec();
    spec->mutable_data()->mutable_text()->set_path((dir_ / "corpus.txt").string());
    spec->mutable_teacher()->mutable_model()->set_path(teacher);
    for (auto [name, lo, hi] :
         {std::tuple{"alpha", 0.0, 1.0}, std::tuple{"temperature", 1.0, 4.0}}) {
      auto* p = spec->mutable_space()->add_parameters();
      p->set_name(name);
      p->mutable_double_range()->set_min(lo);
      p->mutable_double_range()->set_max(hi);
    }
    auto* sparsity = spec->mutable_space()->add_parameters();
    sparsity->set_name("sparsity");
    for (double v : {0.0, 0.25, 0.5, 0.75}) sparsity->mutable_discrete()->add_values(v);
    auto* layers = spec->mutable_space()->add_parameters();
    layers->set_name("num_layers");
    layers->mutable_integer_range()->set_min(1);
    layers->mutable_integer_range()->set_max(8);
    spec->mutable_budget()->set_max_trials(max_trials);
    spec->mutable_budget()->set_max_attempts(100);
    spec->mutable_strategy()->set_name("nsga2");
    // The controller's own cost per trial, as these benchmarks have always
    // measured it: without the predictors' screening and rung decisions.
    spec->mutable_strategy()->mutable_multi_fidelity()->set_enabled(false);
    spec->mutable_strategy()->mutable_predictor()->set_enabled(false);
    kdnas::v1::Job job;
    grpc::ClientContext ctx;
    return kdnas::v1::SearchService::NewStub(channel_)->SubmitJob(&ctx, submit, &job);
  }

 private:
  std::filesystem::path dir_;
  std::string address_;
  pid_t pid_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  bool ready_ = false;
};

}  // namespace kdnas::bench
