"""Search efficiency on the real task: hypervolume against worker-seconds for
kdnas's strategies (random, nsga2, regularized_evolution, each with and
without multi-fidelity early stopping) and for Optuna 3.1's NSGA-II driving
the same worker engine through ask/tell. Each Optuna worker is one long-lived
`kdnas-worker run-candidates` process that, like a kdnas worker, keeps the
teacher and its output cache across trials and counts their load in its first
trial. Same corpus, teacher, batches, space, per-trial budget, worker count
and worker-second budget for every method; several seeds.

usage: search_efficiency.py BUILD_DIR TEACHER OUT_DIR [--seeds N] [--budget SECONDS] [--workers N] [--methods M,...]
A method is a strategy name with options: -mf (multi-fidelity), -pred (predictors), e.g. nsga2-mf-pred.
Prints a table, writes OUT_DIR/search_efficiency.png and OUT_DIR/search_efficiency_trials.json (every
trial of every run) and ends with one JSON line.
"""
import argparse
import concurrent.futures
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "data/tinyshakespeare.txt")
TRAIN_STEPS = 200
RUNGS = [22, 66]
KNOBS = {
    "num_layers": [1, 2, 3, 4],
    "d_model": [64, 96, 128],
    "weight_bits": [8, 4, 3, 2],
    "group_size": [32, 128],
    "embedding_bits": [8, 4],
    "init": ["scratch", "inherit"],
}
MAX_SIZE = 900_000           # bytes: the size axis of the hypervolume
LOSS_REF = math.log(65)      # nats: a uniform guess over the vocabulary


def hypervolume(points):
    """2-D hypervolume of (size, loss) points normalized by (MAX_SIZE, LOSS_REF), reference (1, 1)."""
    pts = sorted((s / MAX_SIZE, l / LOSS_REF) for s, l in points if s < MAX_SIZE and l < LOSS_REF)
    hv, best = 0.0, 1.0
    for x, y in pts:
        if y < best:
            hv += (1 - x) * (best - y)
            best = y
    return hv


def curve(trials, budget):
    """Hypervolume after each trial, against cumulative worker-seconds (completion order)."""
    used, pts, out = 0.0, [], [(0.0, 0.0)]
    for t in sorted(trials, key=lambda t: t["end"]):
        used += t["seconds"]
        if t["ok"]:
            pts.append((t["size"], t["loss"]))
        out.append((used, hypervolume(pts)))
        if used >= budget:
            break
    return out


def hv_at(c, seconds):
    best = 0.0
    for used, hv in c:
        if used <= seconds:
            best = hv
    return best


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def job_yaml(teacher, strategy, seed, budget, multi_fidelity, predictor):
    params = "\n".join(
        f"    - {{name: {k}, categorical: {{values: [{', '.join(v)}]}}}}" if isinstance(v[0], str)
        else f"    - {{name: {k}, discrete: {{values: [{', '.join(map(str, v))}]}}}}" for k, v in KNOBS.items())
    # Both are on by default: a method without them turns them off.
    extra = (f"  multi_fidelity: {{enabled: true, rung_steps: [{', '.join(map(str, RUNGS))}], reduction_factor: 3, "
          f"keep_ranks: 1, min_trials_per_rung: 4}}\n") if multi_fidelity else "  multi_fidelity: {enabled: false}\n"
    extra += "  predictor: {enabled: true, oversample: 4}\n" if predictor else "  predictor: {enabled: false}\n"
    return f"""display_name: efficiency-{strategy}{'-mf' if multi_fidelity else ''}{'-pred' if predictor else ''}-{seed}
data: {{text: {{path: {DATA}}}}}
teacher: {{model: {{path: {teacher}}}}}
space:
  base:
    architecture: {{num_layers: 4, d_model: 128, num_heads: 4, context_length: 64}}
    distillation: {{temperature: 2.0, alpha: 0.5}}
  parameters:
{params}
objectives: [{{metric: val_loss}}, {{metric: size_bytes}}]
constraints: {{max_size_bytes: {MAX_SIZE}}}
budget: {{max_trials: 1000, max_worker_seconds: {budget}, train_steps: {TRAIN_STEPS}, eval_tokens: 8192}}
# Each worker runs the teacher in its first trial, as the Optuna peer's engines do (a shared
# teacher pass would be worker time outside the trials, which the curves count).
teacher_pass: {{per_worker: true}}
strategy:
  name: {strategy}
  nsga2: {{population_size: 8}}
  regularized_evolution: {{population_size: 8, sample_size: 3}}
{extra}seed: {seed}
"""


def start_controller(build, work):
    """A controller on a free port; (its process, the CLI's environment)."""
    addr = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, KDNAS_ADDR=addr, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([f"{build}/server/kdnas-controller", f"--listen={addr}", f"--data-dir={work}/data",
                             "--metrics-listen="], stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run([f"{build}/server/cli/kdnas", "jobs"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    return proc, env


def kdnas_data_seed(build, teacher, tmp):
    """The seed of the batches kdnas's workers draw in these runs (Job.data_info.data_seed: the
    controller's, from the job's data and teacher and, for files named by path, its name jobs/1)."""
    work = tempfile.mkdtemp(dir=tmp)
    proc, env = start_controller(build, work)
    cli = f"{build}/server/cli/kdnas"
    try:
        open(f"{work}/job.yaml", "w").write(job_yaml(teacher, "random", 1, 60, False, False))
        subprocess.run([cli, "submit", f"{work}/job.yaml", "--no-upload"], env=env, check=True, capture_output=True)
        job = json.loads(subprocess.run([cli, "status", "1", "--json"], env=env, capture_output=True, text=True,
                                        check=True).stdout)
        subprocess.run([cli, "cancel", "1"], env=env, capture_output=True)
    finally:
        proc.terminate()
        proc.wait()
    return int(job["data_info"]["data_seed"])


def run_kdnas(build, teacher, strategy, seed, budget, workers, multi_fidelity, predictor, tmp):
    port = free_port()
    addr = f"127.0.0.1:{port}"
    env = dict(os.environ, KDNAS_ADDR=addr, OMP_NUM_THREADS="1")
    work = tempfile.mkdtemp(dir=tmp)
    procs = [subprocess.Popen([f"{build}/server/kdnas-controller", f"--listen={addr}", f"--data-dir={work}/data",
                               "--metrics-listen="], stderr=subprocess.DEVNULL)]
    cli = f"{build}/server/cli/kdnas"
    for _ in range(100):
        if subprocess.run([cli, "jobs"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    for i in range(workers):
        procs.append(subprocess.Popen([f"{build}/workers/kdnas-worker", "serve", "--threads", "1", "--cache-dir",
                                       f"{work}/w{i}", "--wait-ms", "1000", "--no-measure-latency"],
                                      env=env, stderr=subprocess.DEVNULL))
    open(f"{work}/job.yaml", "w").write(job_yaml(teacher, strategy, seed, budget, multi_fidelity, predictor))
    subprocess.run([cli, "submit", f"{work}/job.yaml", "--no-upload"], env=env, check=True, capture_output=True)
    subprocess.run([cli, "watch", "1", "--plain"], env=env, capture_output=True, timeout=budget * 4 + 600)
    listing = json.loads(subprocess.run([cli, "trials", "1", "--json"], env=env, capture_output=True,
                                        text=True, check=True).stdout)
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()
    shutil.rmtree(work, ignore_errors=True)
    trials = []
    for t in listing.get("trials", []):
        if t["state"] not in ("TRIAL_STATE_SUCCEEDED", "TRIAL_STATE_STOPPED", "TRIAL_STATE_FAILED"):
            continue
        m = t.get("metrics", {})
        trials.append({"ok": t["state"] == "TRIAL_STATE_SUCCEEDED", "size": float(m.get("size_bytes", 0)),
                       "loss": float(m.get("val_loss", 0)), "seconds": float(m.get("worker_seconds", 0)),
                       "end": t.get("end_time", ""), "state": t["state"], "candidate": t.get("candidate", {})})
    return trials


class WarmEngine:
    """One `kdnas-worker run-candidates` process: like a kdnas worker, it loads the teacher,
    corpus, held-out set and teacher-output cache with its first trial and keeps them, and it
    reports each trial's worker-seconds the way a kdnas worker does (the first includes that load
    and the teacher's pass over the batches)."""

    def __init__(self, build, teacher, data_seed):
        self.started = time.time()
        self.proc = subprocess.Popen(
            [f"{build}/workers/kdnas-worker", "run-candidates", "--teacher", teacher, "--data", DATA,
             "--steps", str(TRAIN_STEPS), "--eval-tokens", "8192", "--threads", "1", "--no-latency", "--quiet",
             "--data-seed", str(data_seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, OMP_NUM_THREADS="1"))
        self.start_seconds = None  # from launch to reading the first line: not counted, as for kdnas

    def run(self, candidate, out, seed):
        self.proc.stdin.write(json.dumps({"candidate": candidate, "out": out, "seed": seed}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"kdnas-worker run-candidates exited with {self.proc.wait()}")
        answer = json.loads(line)
        if self.start_seconds is None:
            self.start_seconds = time.time() - self.started - answer["worker_seconds"]
        return answer

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def run_optuna(build, teacher, seed, budget, workers, tmp, starts, data_seed):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=optuna.samplers.NSGAIISampler(seed=seed, population_size=8))
    dists = {k: optuna.distributions.CategoricalDistribution(v) for k, v in KNOBS.items()}
    lock = threading.Lock()
    state = {"used": 0.0, "trials": [], "n": 0}

    def one(engine):
        with lock:
            if state["used"] >= budget:
                return False
            trial = study.ask(dists)
            state["n"] += 1
            n = state["n"]
        p = trial.params
        candidate = {"architecture": {"num_layers": p["num_layers"], "d_model": p["d_model"], "num_heads": 4,
                                      "context_length": 64},
                     "compression": {"weight_bits": p["weight_bits"], "group_size": p["group_size"],
                                     "embedding_bits": p["embedding_bits"]},
                     "distillation": {"temperature": 2.0, "alpha": 0.5,
                                      "init": "INIT_INHERIT" if p["init"] == "inherit" else "INIT_SCRATCH"}}
        out = tempfile.mkdtemp(dir=tmp)
        r = engine.run(candidate, f"{out}/o", seed * 1000 + n)
        shutil.rmtree(out, ignore_errors=True)
        ok = r["ok"] and r["metrics"]["size_bytes"] <= MAX_SIZE
        size, loss = (float(r["metrics"]["size_bytes"]), float(r["metrics"]["val_loss"])) if ok else (0, 0)
        with lock:
            if ok:
                study.tell(trial, (loss, size))
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            state["used"] += r["worker_seconds"]
            state["trials"].append({"ok": ok, "size": size, "loss": loss, "seconds": r["worker_seconds"],
                                    "end": time.time(), "candidate": candidate,
                                    "teacher_cache_misses": r.get("teacher_cache_misses", 0)})
        return True

    def loop():
        engine = WarmEngine(build, teacher, data_seed)
        try:
            while one(engine):
                pass
        finally:
            engine.close()
            if engine.start_seconds is not None:
                with lock:
                    starts.append(engine.start_seconds)

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for f in [pool.submit(loop) for _ in range(workers)]:
            f.result()
    return state["trials"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("teacher")
    parser.add_argument("out")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=240)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--methods", default="random,random-mf,nsga2,nsga2-mf,nsga2-mf-pred,regularized_evolution,"
                                               "regularized_evolution-mf,regularized_evolution-mf-pred,optuna-nsga2")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp()
    curves, runs, starts = {}, [], []
    data_seed = None
    try:
        for method in args.methods.split(","):
            for seed in range(1, args.seeds + 1):
                t0 = time.time()
                if method == "optuna-nsga2":
                    if data_seed is None:
                        data_seed = kdnas_data_seed(args.build, args.teacher, tmp)
                    trials = run_optuna(args.build, args.teacher, seed, args.budget, args.workers, tmp, starts,
                                        data_seed)
                else:
                    # METHOD is a strategy name with options: -mf (multi-fidelity), -pred (predictors).
                    strategy, *options = method.split("-")
                    trials = run_kdnas(args.build, args.teacher, strategy, seed, args.budget, args.workers,
                                       "mf" in options, "pred" in options, tmp)
                c = curve(trials, args.budget)
                curves.setdefault(method, []).append(c)
                runs.append({"method": method, "seed": seed, "trials": trials})
                print(f"  {method} seed {seed}: {len(trials)} trials, final hypervolume {c[-1][1]:.4f} "
                      f"({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
            with open(os.path.join(args.out, "search_efficiency_trials.json"), "w") as f:
                json.dump(runs, f, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    fractions = [0.25, 0.5, 0.75, 1.0]
    mean_at = {m: [sum(hv_at(c, f * args.budget) for c in cs) / len(cs) for f in fractions] for m, cs in curves.items()}
    print(f"Mean hypervolume (normalized size/{MAX_SIZE} B and loss/ln 65, reference (1,1)) at fractions of "
          f"{args.budget:.0f} worker-seconds, {args.seeds} seeds, {args.workers} workers:")
    print(f"{'method':26}" + "".join(f"{f'{int(f * 100)}%':>10}" for f in fractions))
    for m, v in mean_at.items():
        print(f"{m:26}" + "".join(f"{x:>10.4f}" for x in v))
    # Worker-seconds each method needs to reach random search's final hypervolume.
    target = mean_at.get("random", [0])[-1]
    need = {}
    for m, cs in curves.items():
        grid = [args.budget * i / 200 for i in range(201)]
        mean = [sum(hv_at(c, s) for c in cs) / len(cs) for s in grid]
        reached = next((s for s, hv in zip(grid, mean) if hv >= target), None)
        need[m] = reached
    print(f"\nworker-seconds to reach random search's final hypervolume ({target:.4f}):")
    for m, s in need.items():
        print(f"  {m:26} {'not reached' if s is None else f'{s:.0f} s ({s / args.budget:.2f} of the budget)'}")
    if starts:
        print(f"""
optuna-nsga2 ran on {args.workers} warm `kdnas-worker run-candidates` processes, one per Optuna worker: each
loads the teacher, corpus and held-out set and fills the teacher-output cache with its first trial and
keeps them, as kdnas's workers do, and each trial counts the worker-seconds the engine reports, measured
as a kdnas worker measures them (the first trial of each process includes that load and the teacher's
pass). Same batches (data seed), training, evaluation and export as kdnas's workers. What still differs:
  - neither side counts the start of its worker processes (Optuna's: {sum(starts) / len(starts):.1f} s each on average);
  - nor the traffic around a trial (kdnas: gRPC leases, heartbeats, uploads; Optuna: a pipe, ask/tell);
  - kdnas rejects candidates over {MAX_SIZE} B before training, Optuna trains them and tells FAIL
    (no candidate of this space is that large).""")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
        grid = [args.budget * i / 100 for i in range(101)]
        for m, cs in curves.items():
            ax.plot(grid, [sum(hv_at(c, s) for c in cs) / len(cs) for s in grid], label=m)
        ax.set_xlabel("worker-seconds")
        ax.set_ylabel("hypervolume")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, "search_efficiency.png"))
    except ImportError:
        pass
    best = max((m for m in mean_at if m != "optuna-nsga2"), key=lambda m: mean_at[m][-1])
    optuna_hv = mean_at.get("optuna-nsga2")
    beats_optuna = None if optuna_hv is None else all(a > b for a, b in zip(mean_at[best], optuna_hv))
    print(json.dumps({"bench": "search_efficiency", "budget_worker_seconds": args.budget, "seeds": args.seeds,
                      "mean_hypervolume": {m: [round(x, 4) for x in v] for m, v in mean_at.items()},
                      "seconds_to_random_final": {m: (None if s is None else round(s, 1)) for m, s in need.items()},
                      "best_method": best, "best_beats_optuna_at_every_budget": beats_optuna,
                      "peer": "optuna-3.1-nsga2", "peer_engine": "warm kdnas-worker run-candidates per worker",
                      "peer_process_start_seconds": None if not starts else round(sum(starts) / len(starts), 2)},
                     separators=(",", ":")))


if __name__ == "__main__":
    main()
