"""Search-quality benchmark, Optuna side: Optuna 3.1's NSGAIISampler and
RandomSampler on the same problems and budgets, in memory. Prints one line per
run: a JSON header, '|', then every evaluated objective vector (';'-separated)
for search_quality_bench score to measure with the same hypervolume code."""
import argparse
import json
import math
import time

import optuna


def zdt_g(x):
    return 1 + 9 * sum(x[1:]) / (len(x) - 1)


def zdt1(x):
    g = zdt_g(x)
    return [x[0], g * (1 - math.sqrt(x[0] / g))]


def zdt2(x):
    g = zdt_g(x)
    return [x[0], g * (1 - (x[0] / g) ** 2)]


def zdt3(x):
    g = zdt_g(x)
    return [x[0], g * (1 - math.sqrt(x[0] / g) - (x[0] / g) * math.sin(10 * math.pi * x[0]))]


def dtlz2(x):
    g = sum((v - 0.5) ** 2 for v in x[2:])
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return [(1 + g) * math.cos(a) * math.cos(b), (1 + g) * math.cos(a) * math.sin(b), (1 + g) * math.sin(a)]


PROBLEMS = {"zdt1": (zdt1, 30, 2), "zdt2": (zdt2, 30, 2), "zdt3": (zdt3, 30, 2), "dtlz2": (dtlz2, 12, 3)}


def run(problem, sampler_name, seed, evals):
    fn, nvars, nobj = PROBLEMS[problem]
    if sampler_name == "optuna-nsga2":
        sampler = optuna.samplers.NSGAIISampler(seed=seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(directions=["minimize"] * nobj, sampler=sampler)
    dists = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(nvars)}
    values = []
    overhead = 0.0
    for _ in range(evals):
        t0 = time.perf_counter()
        trial = study.ask(dists)
        t1 = time.perf_counter()
        x = [trial.params[f"x{i}"] for i in range(nvars)]
        v = fn(x)
        values.append(v)
        t2 = time.perf_counter()
        study.tell(trial, v)
        t3 = time.perf_counter()
        overhead += (t1 - t0) + (t3 - t2)
    return values, overhead / evals * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--evals", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--methods", default="optuna-nsga2,optuna-random")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for problem in PROBLEMS:
        for method in args.methods.split(","):
            for seed in range(args.seeds):
                values, us = run(problem, method, seed, args.evals)
                header = json.dumps({"problem": problem, "method": method, "seed": seed,
                                     "us_per_trial": round(us, 3)}, separators=(",", ":"))
                points = ";".join(" ".join(repr(v) for v in point) for point in values)
                print(header + "|" + points, flush=True)


if __name__ == "__main__":
    main()
