// Search-quality benchmark, kdnas side: runs our strategies on ZDT1/2/3 and
// DTLZ2 and scores any run (ours or Optuna's) by hypervolume, so both sides
// are measured by one implementation.
//
//   search_quality_bench run --evals 1000 --seeds 10         # JSON lines
//   search_quality_bench score < optuna_runs.jsonl           # JSON lines
//
// A run line: {"problem","method","seed","hv":{"300":..,"1000":..},"us_per_trial":..}
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "problems.h"
#include "search/flags.h"
#include "search/hypervolume.h"
#include "search/strategy.h"

namespace {

using kdnas::ObjectiveVector;

struct Problem {
  std::string name;
  int variables;
  std::vector<double> (*evaluate)(const std::vector<double>&);
  ObjectiveVector reference;
};

const std::vector<Problem>& Problems() {
  static const std::vector<Problem> problems = {
      {"zdt1", 30, kdnas::problems::Zdt1, {11, 11}},
      {"zdt2", 30, kdnas::problems::Zdt2, {11, 11}},
      {"zdt3", 30, kdnas::problems::Zdt3, {11, 11}},
      {"dtlz2", 12, kdnas::problems::Dtlz2, {4, 4, 4}},
  };
  return problems;
}

const Problem* FindProblem(const std::string& name) {
  for (const auto& p : Problems()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<int> Budgets(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoi(item));
  return out;
}

std::string HvJson(const std::vector<ObjectiveVector>& values, const std::vector<int>& budgets,
                   const ObjectiveVector& reference) {
  std::ostringstream out;
  out << "{";
  for (size_t i = 0; i < budgets.size(); ++i) {
    size_t n = std::min<size_t>(values.size(), static_cast<size_t>(budgets[i]));
    std::vector<ObjectiveVector> prefix(values.begin(), values.begin() + static_cast<long>(n));
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.10g", kdnas::Hypervolume(prefix, reference));
    out << (i ? "," : "") << "\"" << budgets[i] << "\":" << buf;
  }
  out << "}";
  return out.str();
}

int Run(const std::vector<std::string>& args) {
  int64_t evals = 1000, seeds = 10, population = 24;
  std::string budgets_text = "300,1000", methods_text = "nsga2,regularized_evolution,random";
  kdnas::FlagSet flags("search_quality_bench run [flags]");
  flags.Int("evals", &evals, "Evaluations per run.");
  flags.Int("seeds", &seeds, "Seeds per problem and method.");
  flags.Int("population", &population, "Population of nsga2 and regularized_evolution.");
  flags.String("budgets", &budgets_text, "Budgets at which to score, comma-separated.");
  flags.String("methods", &methods_text, "Strategies, comma-separated.");
  if (auto s = flags.Parse(args); !s.ok() || flags.help_requested()) {
    std::fprintf(stderr, "%s\n%s", s.message().c_str(), flags.Help().c_str());
    return 2;
  }
  std::vector<int> budgets = Budgets(budgets_text);
  std::vector<std::string> methods;
  std::stringstream in(methods_text);
  for (std::string m; std::getline(in, m, ',');) methods.push_back(m);
  for (const Problem& problem : Problems()) {
    std::vector<kdnas::ParameterConfig> params;
    for (int i = 0; i < problem.variables; ++i) {
      params.push_back(kdnas::ParameterConfig::Double(std::string("x") + std::to_string(i), 0, 1));
    }
    auto space = *kdnas::ParameterSpace::Create(params);
    for (const std::string& method : methods) {
      for (int64_t seed = 0; seed < seeds; ++seed) {
        kdnas::StrategyOptions options;
        options.name = method;
        options.seed = static_cast<uint64_t>(seed);
        options.maximize.assign(problem.reference.size(), false);
        options.population_size = static_cast<int>(population);
        auto strategy = *kdnas::CreateStrategy(options, space);
        std::vector<ObjectiveVector> values;
        double strategy_seconds = 0;
        for (int64_t id = 0; id < evals; ++id) {
          auto t0 = std::chrono::steady_clock::now();
          kdnas::Point p = strategy->Suggest(1)[0];
          auto t1 = std::chrono::steady_clock::now();
          kdnas::TrialOutcome outcome{id, p, kdnas::TrialStatus::kSucceeded, problem.evaluate(p), 0};
          values.push_back(outcome.values);
          auto t2 = std::chrono::steady_clock::now();
          strategy->Update({outcome});
          auto t3 = std::chrono::steady_clock::now();
          strategy_seconds += std::chrono::duration<double>((t1 - t0) + (t3 - t2)).count();
        }
        std::printf("{\"problem\":\"%s\",\"method\":\"%s\",\"seed\":%lld,\"hv\":%s,\"us_per_trial\":%.3f}\n",
                    problem.name.c_str(), method.c_str(), static_cast<long long>(seed),
                    HvJson(values, budgets, problem.reference).c_str(),
                    strategy_seconds / static_cast<double>(evals) * 1e6);
      }
    }
  }
  return 0;
}

// Reads lines {"problem","method","seed","us_per_trial","values":[[..],..]}
// (the Optuna side) and prints them scored like ours.
int Score(const std::vector<std::string>& args) {
  std::string budgets_text = "300,1000";
  kdnas::FlagSet flags("search_quality_bench score [flags] < runs.jsonl");
  flags.String("budgets", &budgets_text, "Budgets at which to score, comma-separated.");
  if (auto s = flags.Parse(args); !s.ok() || flags.help_requested()) {
    std::fprintf(stderr, "%s\n%s", s.message().c_str(), flags.Help().c_str());
    return 2;
  }
  std::vector<int> budgets = Budgets(budgets_text);
  std::string line;
  while (std::getline(std::cin, line)) {
    // The producer writes a fixed layout: a header object, then "|" and the
    // values as space-separated numbers, one point per ";".
    auto bar = line.find('|');
    if (bar == std::string::npos) continue;
    std::string header = line.substr(0, bar);
    auto problem_at = header.find("\"problem\":\"");
    std::string problem_name = header.substr(problem_at + 11, header.find('"', problem_at + 11) - problem_at - 11);
    const Problem* problem = FindProblem(problem_name);
    if (problem == nullptr) {
      std::fprintf(stderr, "unknown problem %s\n", problem_name.c_str());
      return 1;
    }
    std::vector<ObjectiveVector> values;
    std::stringstream points(line.substr(bar + 1));
    for (std::string point; std::getline(points, point, ';');) {
      std::stringstream nums(point);
      ObjectiveVector v;
      for (double x; nums >> x;) v.push_back(x);
      if (!v.empty()) values.push_back(v);
    }
    header.pop_back();  // the closing brace
    std::printf("%s,\"hv\":%s}\n", header.c_str(), HvJson(values, budgets, problem->reference).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + std::min(argc, 2), argv + argc);
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "run") return Run(args);
  if (command == "score") return Score(args);
  std::fprintf(stderr, "usage: search_quality_bench run|score [flags]\n");
  return 2;
}
