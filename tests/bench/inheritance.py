"""Teacher-weight inheritance as a search dimension: the validation loss of
the same students trained for the same steps from scratch and inherited from
the teacher (kdnas-worker run-candidate), and the gain.

usage: inheritance.py BUILD_DIR TEACHER [--steps N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STUDENTS = [
    ("4L d128 3-bit g32", {"num_layers": 4, "d_model": 128}, {"weight_bits": 3, "group_size": 32, "embedding_bits": 8}),
    ("2L d128 4-bit g32", {"num_layers": 2, "d_model": 128}, {"weight_bits": 4, "group_size": 32, "embedding_bits": 8}),
    ("2L d64 8-bit", {"num_layers": 2, "d_model": 64}, {"weight_bits": 8, "group_size": 32, "embedding_bits": 8}),
]


def run(build, teacher, arch, comp, init, steps, tmp):
    c = {"architecture": {**arch, "num_heads": 4, "context_length": 64}, "compression": comp,
         "distillation": {"temperature": 2.0, "alpha": 0.5, "init": init}}
    path = os.path.join(tmp, "c.json")
    json.dump(c, open(path, "w"))
    out = os.path.join(tmp, init)
    subprocess.run([f"{build}/workers/kdnas-worker", "run-candidate", "--candidate", path, "--teacher", teacher,
                    "--data", os.path.join(ROOT, "data/tinyshakespeare.txt"), "--out", out, "--steps", str(steps),
                    "--threads", "1", "--no-latency", "--quiet"], check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    return json.load(open(os.path.join(out, "metrics.json")))["val_loss"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("teacher")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    rows = []
    for name, arch, comp in STUDENTS:
        with tempfile.TemporaryDirectory() as tmp:
            scratch = run(args.build, args.teacher, arch, comp, "INIT_SCRATCH", args.steps, tmp)
            inherit = run(args.build, args.teacher, arch, comp, "INIT_INHERIT", args.steps, tmp)
        rows.append((name, scratch, inherit))
        print(f"  {name}: scratch {scratch:.4f}, inherit {inherit:.4f}", file=sys.stderr, flush=True)
    print(f"Validation loss after {args.steps} steps of distillation (same student, same batches):")
    print(f"{'student':22} {'scratch':>9} {'inherit':>9} {'gain':>8}")
    for name, s, i in rows:
        print(f"{name:22} {s:>9.4f} {i:>9.4f} {s - i:>8.4f}")
    mean_gain = sum(s - i for _, s, i in rows) / len(rows)
    print(f"mean gain from inheriting the teacher's weights: {mean_gain:.4f} nats")
    print(json.dumps({"bench": "inheritance", "steps": args.steps,
                      "students": {n: {"scratch": round(s, 4), "inherit": round(i, 4)} for n, s, i in rows},
                      "mean_gain_nats": round(mean_gain, 4), "peer": "scratch"}, separators=(",", ":")))


if __name__ == "__main__":
    main()
