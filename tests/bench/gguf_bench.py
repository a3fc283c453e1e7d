"""deploy/bench.sh gguf: kdnas's searched GGUF students against llama-quantize.

The baseline a user with a teacher picks today: its F16 GGUF quantized by
llama.cpp's own llama-quantize to Q8_0, Q4_0, Q4_K_M, Q3_K_M and Q2_K (its
mixes), without an importance matrix and with one from the training text.
Against it: a kdnas search over llama.cpp's types (weight_format and the
per-class overrides) at the quickstart's budget, whose frontier students are
pulled as GGUF files. Every file is measured the same way, by llama.cpp
(kdnas-worker llama: the prebuilt libraries, 1 thread): its bytes, its mean
NLL on the held-out windows kdnas evaluates students on, and its decode speed
at batch 1 after a prompt of half the context (a tiny model decodes a token
in a fraction of a millisecond, and single runs vary by a third: each file
is measured in 7 rounds that run every file once, in alternating order, each
run the median of 5 timed runs in one process; the fastest round counts:
a process now and then lands in a slow mode, 0.29 instead of 0.20 ms a
token for the same file, steady within the process). A verdict whose speed
margin is within 3% either way is timed again in 14 more rounds of just the
files it compares, and the table gives each win's margin.

The search starts warm (--no-warm-start: cold): its space's
points_to_evaluate are the teacher's own shape at the main type of each
llama-quantize mix (q8_0, q4_0, q4_k, q3_k, q2_k), what llama-quantize
would give but distilled; with them nsga2 (population 8) draws 3 students
at random and then breeds from what has finished.

It runs once per teacher family (--families, default both): the GPT-2-style
teacher of the quickstart's recipe at d_model 256, and a Llama-family one
(RMSNorm, rotary positions, SwiGLU, 2 KV heads) trained the same way; each
search's space keeps its teacher's family.

The user's question is the smallest student within 0.05 nats of the
teacher, so the job says so (--no-threshold: it does not): its val_loss
objective's threshold is the teacher's F16 NLL by llama.cpp plus 0.05
(kdnas's val_loss and llama.cpp's NLL of a file agree within 0.01, tested),
and once 6 trials have finished the predictors rank proposals by the area
they would add to the front within it, instead of spending trials on
one-layer students 0.2-0.3 nats behind the teacher.

usage: gguf_bench.py BUILD_DIR TOOLS_DIR [--skip-search] [--max-worker-seconds S]
                     [--families gpt2,llama] [--layers 1,2,3,4] [--no-warm-start]
                     [--no-threshold]
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

TYPES = ["Q8_0", "Q4_0", "Q4_K_M", "Q3_K_M", "Q2_K"]
# The warm start: the teacher's shape at the main type of each of TYPES.
WARM_START_FORMATS = ["q8_0", "q4_0", "q4_k", "q3_k", "q2_k"]
CONTEXT = 64
EVAL_TOKENS = 16384  # a job's default budget.eval_tokens: the windows of the students' val_loss
# The search's nsga2 population. Its budget affords about 12 trials: with the
# default population of 16 it would never leave its random start. The warm
# start's points count toward it.
POPULATION = 8
SPEED_ROUNDS = 7
SPEED_RUNS_PER_PROCESS = 5
# One process's figure for a file varies by about 4% from process to process,
# the fastest of 7 rounds by 1-2% between bench runs (llama-quantize's Q4_K_M
# file: 8,361 and 8,258 tok/s). A speed verdict within this margin either way
# is measured again, in SETTLE_ROUNDS more rounds.
SPEED_TIE = 0.03
SETTLE_ROUNDS = 14
NLL_MARGIN = 0.05  # "within 0.05 nats of the f16 teacher"
CORPUS = "data/tinyshakespeare.txt"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def measure(worker, gguf):
    """Bytes and held-out NLL of a GGUF file, by llama.cpp (speed: measure_speeds)."""
    out = run([worker, "llama", "--gguf", gguf, "--data", CORPUS, "--context", str(CONTEXT),
               "--eval-tokens", str(EVAL_TOKENS), "--threads", "1"])
    nll = float(re.search(r"held-out NLL ([0-9.]+)", out).group(1))
    return {"bytes": os.path.getsize(gguf), "nll": nll, "path": gguf}


def measure_speeds(worker, rows, rounds=SPEED_ROUNDS):
    """Decode speed of every row's file, in interleaved rounds: each round runs
    every file once (a process: a warm-up and the median of SPEED_RUNS_PER_PROCESS
    timed runs, as a trial's latency_ms), in alternating order, so a drift of the
    machine's speed during the bench moves all files alike. Called again for
    some rows, it adds rounds to theirs."""
    for i in range(rounds):
        for r in rows if i % 2 == 0 else reversed(rows):
            out = run([worker, "llama", "--gguf", r["path"], "--speed-tokens", "32", "--threads",
                       "1", "--speed-runs", str(SPEED_RUNS_PER_PROCESS)])
            ms = float(re.search(r"decode ([0-9.]+) ms/token", out).group(1))
            r.setdefault("rounds_ms", []).append(ms)
    for r in rows:
        # The fastest round: a process lands in a slow mode now and then (the
        # same file 0.20 or 0.29 ms a token, steady within the process), so
        # the least disturbed one is each file's fair figure.
        ms = min(r["rounds_ms"])
        r.update(decode_ms=ms, tok_s=1e3 / ms)


def speed_margin(student, base):
    """How much faster the student decodes than the baseline, relative."""
    return student["tok_s"] / base["tok_s"] - 1


def baseline(rows, name):
    """The row of llama-quantize's file of type `name`."""
    return next(r for r in rows if r["name"] == "llama-quantize " + name)


def small_and_good(student, base):
    """At most as large as the baseline, with a lower NLL: it wins unless slower."""
    return student["bytes"] <= base["bytes"] and student["nll"] < base["nll"]


def verdicts_of(rows, names):
    """At each baseline: the student at most as large, with a lower NLL and
    decoding at least as fast, with the lowest NLL (or None)."""
    students = [r for r in rows if r["kind"] == "student"]
    verdicts = {}
    for name in names:
        base = baseline(rows, name)
        wins = [s for s in students if small_and_good(s, base) and s["tok_s"] >= base["tok_s"]]
        verdicts[name] = min(wins, key=lambda s: s["nll"]) if wins else None
    return verdicts


def settle_close_speeds(worker, rows, names):
    """A verdict that rests on a speed margin within SPEED_TIE either way
    (the spread of a file's fastest round) is measured again: the baseline
    and every student that is small and good enough to win it but for
    speed, within the margin, get SETTLE_ROUNDS more interleaved rounds, and
    the fastest round of all counts. Returns the rows re-timed."""
    students = [r for r in rows if r["kind"] == "student"]
    close = []
    for name in names:
        base = baseline(rows, name)
        for s in students:
            if small_and_good(s, base) and abs(speed_margin(s, base)) < SPEED_TIE:
                for r in (base, s):
                    if all(r is not c for c in close):
                        close.append(r)
    if close:
        log(f"re-timing {len(close)} files whose speed verdicts are within "
            f"{SPEED_TIE:.0%}: {SETTLE_ROUNDS} more rounds")
        measure_speeds(worker, close, SETTLE_ROUNDS)
    return close


# Per family: the teacher's file, its train-teacher flags, and the search's
# base architecture and searched FFN widths (multiples of 256: the k-quants'
# super-blocks divide every row).
FAMILIES = {
    "gpt2": {"teacher": "teacher-d256.pt", "flags": [], "d_ff": 1024, "d_ff_values": [512, 1024],
             "extra_architecture": ""},
    "llama": {"teacher": "teacher-llama-d256.pt",
              "flags": ["--family", "llama", "--kv-heads", "2", "--d-ff", "768"], "d_ff": 768,
              "d_ff_values": [512, 768], "extra_architecture": ", num_kv_heads: 2"},
}


def teacher(worker, path, family):
    if os.path.exists(path):
        log(f"using the cached bench teacher {path}")
        return
    log(f"training the {family} bench teacher: 4 layers, d_model 256 (the quickstart's recipe "
        "otherwise)")
    start = time.time()
    run([worker, "train-teacher", "--data", CORPUS, "--out", path, "--layers", "4", "--d-model",
         "256", "--heads", "4", "--quiet"] + FAMILIES[family]["flags"])
    log(f"  {time.time() - start:.0f} s")


def baselines(worker, tools, out, teacher_f16):
    train_text = os.path.join(out, "train.txt")
    text = open(CORPUS, encoding="utf-8").read()
    with open(train_text, "w", encoding="utf-8") as f:
        f.write(text[:int(len(text) * 0.9)])  # the held-out tenth stays unseen
    imatrix = os.path.join(out, "imatrix.gguf")
    if not os.path.exists(imatrix):
        log("llama-imatrix on the training text")
        run([os.path.join(tools, "llama-imatrix"), "-m", teacher_f16, "-f", train_text, "-o", imatrix,
             "-c", str(CONTEXT), "--chunks", "400", "-t", "2"])
    files = {}
    for t in TYPES:
        for variant, extra in [("", []), ("+imatrix", ["--imatrix", imatrix])]:
            path = os.path.join(out, f"teacher-{t}{variant.replace('+', '-')}.gguf")
            run([os.path.join(tools, "llama-quantize")] + extra + [teacher_f16, path, t, "2"])
            files[t + variant] = path
    return files


def search(build, out, teacher_pt, max_worker_seconds, family, layers, warm_start, loss_threshold):
    """The search at the quickstart's budget; returns the job's frontier students as GGUF files.

    loss_threshold: the val_loss objective's threshold (None: none)."""
    kdnas = os.path.join(build, "server/cli/kdnas")
    worker = os.path.join(build, "workers/kdnas-worker")
    controller = os.path.join(build, "server/kdnas-controller")
    port = 50000 + os.getpid() % 10000
    env = dict(os.environ, KDNAS_ADDR=f"127.0.0.1:{port}", OMP_NUM_THREADS="1")
    data = os.path.join(out, "search")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    procs = [subprocess.Popen([controller, "--listen", env["KDNAS_ADDR"], "--data-dir",
                               os.path.join(data, "controller"), "--metrics-listen="],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(data, "c.log"), "w"))]
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [worker, "serve", "--threads", "1", "--cache-dir", os.path.join(data, f"w{i}")],
                env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(data, f"w{i}.log"), "w")))
        for _ in range(100):
            if subprocess.run([kdnas, "jobs"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        fam = FAMILIES[family]
        points = [{"weight_format": f} for f in WARM_START_FORMATS] if warm_start else []
        threshold = "" if loss_threshold is None else f", threshold: {loss_threshold:.4f}"
        job_yaml = os.path.join(data, "job.yaml")
        with open(job_yaml, "w") as f:
            f.write(f"""display_name: gguf-bench-{family}
data: {{text: {{path: {os.path.abspath(CORPUS)}}}}}
teacher: {{model: {{path: {os.path.abspath(teacher_pt)}}}}}
space:
  base:
    architecture: {{num_layers: 4, d_model: 256, num_heads: 4, d_ff: {fam["d_ff"]}, context_length: {CONTEXT}{fam["extra_architecture"]}}}
    distillation: {{temperature: 2.0, alpha: 0.5, init: inherit}}
  parameters:
    - {{name: num_layers, discrete: {{values: {layers}}}}}
    - {{name: d_ff, discrete: {{values: {fam["d_ff_values"]}}}}}
    - {{name: weight_format, categorical: {{values: [q8_0, q6_k, q5_k, q5_0, q4_k, q4_0, q3_k, q2_k]}}}}
    - {{name: ffn_format, categorical: {{values: [same, q4_0, q4_k, q3_k, q2_k]}}}}
    - {{name: embedding_format, categorical: {{values: [same, q8_0, q4_0, q4_k]}}}}
  points_to_evaluate: {json.dumps([{"values": p} for p in points])}
objectives:
  - {{metric: val_loss, direction: minimize{threshold}}}
  - {{metric: size_bytes, direction: minimize}}
  - {{metric: latency_ms, direction: minimize}}
budget: {{max_worker_seconds: {max_worker_seconds}, max_trials: 48, train_steps: 300, batch_size: 12}}
strategy: {{name: nsga2, nsga2: {{population_size: {POPULATION}}}}}
seed: 1
""")
        job = json.loads(run([kdnas, "submit", job_yaml, "--json"], env=env))["name"]
        log(f"search {job}: up to {max_worker_seconds} worker-seconds on two workers")
        start = time.time()
        subprocess.run([kdnas, "watch", job], env=env, check=True, stdout=subprocess.DEVNULL,
                       timeout=3 * max_worker_seconds + 600)
        search_s = time.time() - start
        frontier = json.loads(run([kdnas, "frontier", job, "--json"], env=env))
        trials = json.loads(run([kdnas, "trials", job, "--json"], env=env)).get("trials", [])
        students = {}
        for p in frontier.get("points", []):
            # The best val_loss within a point's size and latency is the point
            # itself (nothing dominates a frontier point).
            size = int(p["metrics"]["size_bytes"])
            name = p["trial"].split("/")[-1]
            path = os.path.join(data, f"student-{name}.gguf")
            limits = ["--max-size", str(size)]
            if "latency_ms" in p["metrics"]:
                limits += ["--max-latency-ms", repr(float(p["metrics"]["latency_ms"]))]
            best = json.loads(run([kdnas, "best", job, "--json", "--gguf-out", path] + limits,
                                  env=env))
            if best["name"] != p["trial"]:
                log(f"  {p['trial']}: best within its size and latency is {best['name']}")
            students[p["trial"]] = {"path": path, "candidate": p["candidate"],
                                    "val_loss": p["metrics"]["val_loss"]}
        succeeded = sum(1 for t in trials if t.get("state") == "TRIAL_STATE_SUCCEEDED")
        return students, {"search_seconds": round(search_s, 1), "trials": len(trials),
                          "succeeded": succeeded, "search_num_layers": layers,
                          "points_to_evaluate": points, "population_size": POPULATION,
                          "val_loss_threshold": loss_threshold}
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait()


def label(candidate):
    a = candidate.get("architecture", {})
    q = candidate.get("compression", {})
    text = f"{a.get('num_layers')}L ff{a.get('d_ff')} {q.get('weight_format', '')}"
    for k in ("attention_format", "ffn_format", "embedding_format", "output_format"):
        if q.get(k):
            text += f" {k.split('_')[0]}={q[k]}"
    return text


def svg_plot(path, rows):
    """Size (log) against NLL: baselines as squares, students as circles."""
    xs = [r["bytes"] for r in rows]
    ys = [r["nll"] for r in rows]
    import math
    lx0, lx1 = math.log10(min(xs)) - 0.05, math.log10(max(xs)) + 0.05
    y0, y1 = min(ys) - 0.02, max(ys) + 0.02
    w, h, m = 720, 440, 60

    def px(b):
        return m + (math.log10(b) - lx0) / (lx1 - lx0) * (w - 2 * m)

    def py(v):
        return h - m - (v - y0) / (y1 - y0) * (h - 2 * m)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">GGUF bytes (log scale)</text>',
             f'<text x="15" y="{h / 2}" transform="rotate(-90 15 {h / 2})" text-anchor="middle">'
             'held-out NLL by llama.cpp (nats)</text>']
    for r in rows:
        x, y = px(r["bytes"]), py(r["nll"])
        if r["kind"] == "student":
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#1f77b4"/>')
        else:
            parts.append(f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="#d62728"/>')
        parts.append(f'<text x="{x + 6:.1f}" y="{y - 6:.1f}">{r["name"]}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts))


def bench_family(args, worker, family):
    """The table and figures of one teacher family."""
    out = os.path.abspath(os.path.join("bench-out/gguf", family))
    os.makedirs(out, exist_ok=True)
    start = time.time()
    teacher_pt = os.path.abspath(os.path.join("kdnas-data/teacher", FAMILIES[family]["teacher"]))
    os.makedirs(os.path.dirname(teacher_pt), exist_ok=True)
    teacher(worker, teacher_pt, family)
    teacher_f16 = os.path.join(out, "teacher-f16.gguf")
    run([worker, "export-gguf", "--model", teacher_pt, "--out", teacher_f16, "--format", "f16"])
    files = baselines(worker, args.tools, out, teacher_f16)

    rows = [dict(measure(worker, teacher_f16), name="teacher F16", kind="teacher")]
    for name, path in files.items():
        rows.append(dict(measure(worker, path), name="llama-quantize " + name, kind="baseline"))
    extra = {}
    if not args.skip_search:
        threshold = rows[0]["nll"] + NLL_MARGIN if args.threshold else None
        students, extra = search(args.build, out, teacher_pt, args.max_worker_seconds, family,
                                 [int(n) for n in args.layers.split(",")], args.warm_start,
                                 threshold)
        for trial, s in students.items():
            r = measure(worker, s["path"])
            r.update(name=f"{trial.split('/')[-1]} {label(s['candidate'])}", kind="student",
                     worker_val_loss=s["val_loss"])
            rows.append(r)
    measure_speeds(worker, rows)

    f16 = rows[0]
    print(f"\n== {family} teacher (4 layers, d_model 256)")
    print(f"{'GGUF':44}{'bytes':>11}{'x smaller':>10}{'NLL':>8}{'tok/s':>9}")
    for r in sorted(rows, key=lambda r: r["bytes"]):
        print(f"{r['name'][:43]:44}{r['bytes']:>11}{f16['bytes'] / r['bytes']:>10.1f}"
              f"{r['nll']:>8.4f}{r['tok_s']:>9.0f}")
    students = [r for r in rows if r["kind"] == "student"]
    retimed = settle_close_speeds(worker, rows, files)
    if retimed:
        print("re-timed (speed verdicts within {:.0%}): {}".format(
            SPEED_TIE, ", ".join(f"{r['name']} {r['tok_s']:.0f} tok/s" for r in retimed)))
    verdicts = verdicts_of(rows, files)
    margins = {}
    print("\nat each llama-quantize type, a student at most as large, with a lower NLL, decoding "
          "at least as fast (its speed margin; fastest of "
          f"{SPEED_ROUNDS} rounds, {SPEED_ROUNDS + SETTLE_ROUNDS} when within {SPEED_TIE:.0%}):")
    for name, winner in verdicts.items():
        if winner:
            margins[name] = round(speed_margin(winner, baseline(rows, name)), 4)
            print(f"  {name:18} {winner['name']}  ({margins[name]:+.1%})")
        else:
            print(f"  {name:18} none")
    close = [s for s in students if s["nll"] <= f16["nll"] + NLL_MARGIN]
    smallest = min(close, key=lambda s: s["bytes"]) if close else None
    ratio = f16["bytes"] / smallest["bytes"] if smallest else 0.0
    print(f"smallest student within {NLL_MARGIN} nats of the F16 teacher ({f16['nll']:.4f}): "
          + (f"{smallest['name']}, {ratio:.1f}x smaller than the teacher's F16 GGUF (goal >= 12x)"
             if smallest else "none"))
    if students:
        diffs = [abs(s["nll"] - s["worker_val_loss"]) for s in students]
        print(f"llama.cpp's NLL against the worker's val_loss: largest difference {max(diffs):.4f}")
    svg = os.path.join(out, "gguf.svg")
    svg_plot(svg, rows)
    print(f"plot: {svg}   ({time.time() - start:.0f} s for the {family} teacher)")
    return {
        "beats_llama_quantize_at_every_type": bool(students) and all(verdicts.values()),
        "types_beaten": sum(1 for v in verdicts.values() if v),
        "speed_margins_of_wins": margins,
        "files_retimed": len(retimed),
        "types": len(verdicts),
        "smallest_within_0.05_ratio_vs_f16": round(ratio, 2),
        "teacher_f16_bytes": f16["bytes"],
        "teacher_f16_nll": f16["nll"],
        "baselines": {r["name"]: {k: r[k] for k in ("bytes", "nll", "tok_s")}
                      for r in rows if r["kind"] == "baseline"},
        "students": len(students),
        **extra,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("tools")
    ap.add_argument("--skip-search", action="store_true")
    ap.add_argument("--max-worker-seconds", type=float, default=750)
    ap.add_argument("--layers", default="1,2,3,4",
                    help="the search's num_layers values, comma-separated (the teachers have 4)")
    ap.add_argument("--warm-start", action=argparse.BooleanOptionalAction, default=True,
                    help="start the search from the teacher's shape at each llama-quantize "
                         "type's main type (space.points_to_evaluate)")
    ap.add_argument("--threshold", action=argparse.BooleanOptionalAction, default=True,
                    help="give the search's val_loss objective a threshold of the teacher's "
                         "F16 NLL plus 0.05 nats, the goal's margin")
    ap.add_argument("--families", default="gpt2,llama",
                    help="teacher families, comma-separated: " + ", ".join(FAMILIES))
    args = ap.parse_args()
    if args.warm_start and "4" not in args.layers.split(","):
        sys.exit("gguf_bench: --layers must include 4, the teachers' depth, for the warm start "
                 "(its points are the teacher's shape); or add --no-warm-start")
    families = args.families.split(",")
    for f in families:
        if f not in FAMILIES:
            sys.exit(f"gguf_bench: --families: unknown family {f!r} (known: {', '.join(FAMILIES)})")
    worker = os.path.join(args.build, "workers/kdnas-worker")
    start = time.time()
    results = {f: bench_family(args, worker, f) for f in families}
    print(f"\n({time.time() - start:.0f} s in all)")
    print(json.dumps({
        "bench": "gguf",
        "beats_llama_quantize_at_every_type": all(r["beats_llama_quantize_at_every_type"]
                                                  for r in results.values()),
        "smallest_within_0.05_ratio_vs_f16": min(r["smallest_within_0.05_ratio_vs_f16"]
                                                 for r in results.values()),
        "families": results,
    }))


if __name__ == "__main__":
    main()
