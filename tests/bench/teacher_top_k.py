"""The quality cost of a top-k teacher cache: the same students distilled for
the same steps from the same initial weights on the same batches, once with
the teacher's full log-probabilities (fp16) and once with each k of its top-k
(plus the log of the remaining mass; docs/teacher-pass.md). Only the targets
differ, so the validation-loss differences are the cost of dropping the tail.
The teacher is byte-level (vocabulary 256; kdnas-worker run-candidate
--full-vocab-limit 0 forces top-k below the 1,024 at which full ones are the
default), the largest vocabulary a teacher is trained on here.

usage: teacher_top_k.py BUILD_DIR TEACHER [--steps N] [--threads N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KS = [128, 64, 32, 16]
STUDENTS = {
    "2L d128 4-bit inherit": {"architecture": {"num_layers": 2, "d_model": 128, "num_heads": 4},
                              "compression": {"weight_bits": 4, "group_size": 32, "embedding_bits": 8},
                              "init": "INIT_INHERIT"},
    "2L d64 fp16 scratch": {"architecture": {"num_layers": 2, "d_model": 64, "num_heads": 4},
                            "compression": {}, "init": "INIT_SCRATCH"},
}


def distil(args, student, k, tmp):
    """metrics.json of one run; k = 0 for full log-probabilities."""
    s = STUDENTS[student]
    candidate = {"architecture": {**s["architecture"], "context_length": 64}, "compression": s["compression"],
                 "distillation": {"temperature": 2.0, "alpha": 0.5, "init": s["init"]}}
    spec = os.path.join(tmp, "candidate.json")
    with open(spec, "w") as f:
        json.dump(candidate, f)
    out = os.path.join(tmp, f"k{k}")
    cache = ["--full-vocab-limit", "100000"] if k == 0 else ["--full-vocab-limit", "0", "--top-k", str(k)]
    subprocess.run([f"{args.build}/workers/kdnas-worker", "run-candidate", "--candidate", spec,
                    "--teacher", args.teacher, "--data", os.path.join(ROOT, "data/tinyshakespeare.txt"),
                    "--out", out, "--steps", str(args.steps), "--threads", str(args.threads), "--seed", "1",
                    "--data-seed", "1", "--no-latency", "--quiet", *cache], check=True)
    with open(os.path.join(out, "metrics.json")) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("teacher")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    vocab = 256
    bytes_full = 2 * vocab
    results = {}
    for student in STUDENTS:
        with tempfile.TemporaryDirectory() as tmp:
            for k in [0] + KS:
                m = distil(args, student, k, tmp)
                results[(student, k)] = m
                print(f"  {student} {'full' if k == 0 else f'top-{k}'}: val loss {m['val_loss']:.4f}",
                      file=sys.stderr, flush=True)
    print(f"Validation loss after {args.steps} steps, byte-level teacher (vocabulary {vocab}), T = 2, alpha = 0.5;"
          " same student, initial weights and batches:")
    print(f"{'student':24} {'targets':>8} {'bytes/token':>12} {'vs full':>8} {'val loss':>9} {'cost':>8}"
          f" {'agreement':>10}")
    json_rows = {}
    for student in STUDENTS:
        full = results[(student, 0)]["val_loss"]
        for k in [0] + KS:
            m = results[(student, k)]
            per_token = bytes_full if k == 0 else 4 * k + 2  # 16-bit ids, fp16 values and the rest
            label = "full" if k == 0 else f"top-{k}"
            print(f"{student:24} {label:>8} {per_token:>12} {per_token / bytes_full:>8.3f} {m['val_loss']:>9.4f}"
                  f" {m['val_loss'] - full:>+8.4f} {m['teacher_agreement']:>10.3f}")
            json_rows.setdefault(student, {})[label] = {"val_loss": round(m["val_loss"], 4),
                                                        "bytes_per_token": per_token}
    costs = {f"top-{k}": round(sum(results[(s, k)]["val_loss"] - results[(s, 0)]["val_loss"]
                                   for s in STUDENTS) / len(STUDENTS), 4) for k in KS}
    for label, cost in costs.items():
        print(f"mean cost of {label} against full log-probabilities: {cost:+.4f} nats")
    print(json.dumps({"bench": "teacher_top_k", "steps": args.steps, "vocab": vocab, "students": json_rows,
                      "mean_cost_nats": costs, "peer": "full log-probabilities"}, separators=(",", ":")))


if __name__ == "__main__":
    main()
