"""Prints the search-quality table (median hypervolume per problem, budget and
method; ratios ours/Optuna; per-trial overhead) and the final JSON line."""
import json
import statistics
import sys

REFERENCES = {"zdt1": "(11, 11)", "zdt2": "(11, 11)", "zdt3": "(11, 11)", "dtlz2": "(4, 4, 4)"}
METHODS = ["nsga2", "regularized_evolution", "random", "optuna-nsga2", "optuna-random"]


def main():
    runs = [json.loads(line) for path in sys.argv[1:] for line in open(path) if line.strip()]
    hv = {}
    overhead = {}
    for r in runs:
        overhead.setdefault(r["method"], []).append(r["us_per_trial"])
        for budget, value in r["hv"].items():
            hv.setdefault((r["problem"], int(budget), r["method"]), []).append(value)
    problems = [p for p in REFERENCES if any(k[0] == p for k in hv)]
    budgets = sorted({k[1] for k in hv})
    seeds = max(len(v) for v in hv.values())
    print(f"Median hypervolume over {seeds} seeds (reference points: " +
          ", ".join(f"{p} {REFERENCES[p]}" for p in problems) + ")")
    header = f"{'problem':8} {'evals':>6} " + " ".join(f"{m:>22}" for m in METHODS) + f" {'nsga2/optuna':>13}"
    print(header)
    print("-" * len(header))
    figures = {}
    ratios = []
    for p in problems:
        for b in budgets:
            med = {m: statistics.median(hv[(p, b, m)]) for m in METHODS if (p, b, m) in hv}
            ratio = med["nsga2"] / med["optuna-nsga2"]
            ratios.append(ratio)
            figures[f"{p}_{b}"] = {"nsga2": round(med["nsga2"], 4), "optuna_nsga2": round(med["optuna-nsga2"], 4),
                                   "ratio": round(ratio, 4)}
            print(f"{p:8} {b:>6} " + " ".join(f"{med.get(m, float('nan')):>22.4f}" for m in METHODS) +
                  f" {ratio:>13.4f}")
    ours_us = statistics.median(overhead["nsga2"])
    optuna_us = statistics.median(overhead["optuna-nsga2"])
    print()
    print("Per-trial strategy overhead (median; ours: Suggest+Update, Optuna: ask+tell in memory):")
    for m in METHODS:
        if m in overhead:
            print(f"  {m:22} {statistics.median(overhead[m]):10.2f} us")
    print(f"  optuna-nsga2 / nsga2 overhead: {optuna_us / ours_us:.0f}x")
    wins = sum(r >= 1.0 for r in ratios)
    print(f"\nnsga2 >= Optuna NSGA-II on {wins} of {len(ratios)} problem/budget pairs; min ratio {min(ratios):.4f}")
    print(json.dumps({"bench": "search_quality", "seeds": seeds, "hypervolume": figures,
                      "min_hv_ratio_vs_optuna_nsga2": round(min(ratios), 4),
                      "kdnas_nsga2_us_per_trial": round(ours_us, 3), "peer": "optuna-3.1-nsga2",
                      "peer_us_per_trial": round(optuna_us, 3),
                      "overhead_ratio": round(optuna_us / ours_us, 1)}, separators=(",", ":")))


if __name__ == "__main__":
    main()
