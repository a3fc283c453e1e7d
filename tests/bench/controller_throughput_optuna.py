"""Controller-throughput peer: Optuna 3.1 ask/tell on a two-objective
problem with NSGA-II, with SQLite storage (durable, like kdnas) and in
memory. Prints one JSON line per storage."""
import argparse
import json
import os
import tempfile
import time

import optuna


def objective_values(trial):
    x = trial.params["x"]
    y = trial.params["y"]
    return x * x + y, (1 - x) ** 2 + y


def run(storage, trials):
    study = optuna.create_study(directions=["minimize", "minimize"], storage=storage,
                                sampler=optuna.samplers.NSGAIISampler(seed=0))
    dists = {"x": optuna.distributions.FloatDistribution(0, 1), "y": optuna.distributions.FloatDistribution(0, 1)}
    start = time.perf_counter()
    for _ in range(trials):
        t = study.ask(dists)
        study.tell(t, objective_values(t))
    return trials / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite-trials", type=int, default=300)
    parser.add_argument("--memory-trials", type=int, default=3000)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as d:
        url = "sqlite:///" + os.path.join(d, "optuna.db")
        print(json.dumps({"system": "optuna-sqlite", "trials": args.sqlite_trials,
                          "trials_per_s": round(run(url, args.sqlite_trials), 1)}), flush=True)
    print(json.dumps({"system": "optuna-memory", "trials": args.memory_trials,
                      "trials_per_s": round(run(None, args.memory_trials), 1)}), flush=True)


if __name__ == "__main__":
    main()
