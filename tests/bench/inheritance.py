"""Teacher-weight inheritance as a search dimension: the validation loss of
the same students trained for the same steps from scratch and inherited from
the teacher (kdnas-worker run-candidate), and the gain, for a GPT-2-family
teacher and a Llama-family one (grouped-query attention: 4 heads, 2 KV heads).
Llama-family students keep the teacher's head_dim (32), as they do in a job.

usage: inheritance.py BUILD_DIR GPT2_TEACHER LLAMA_TEACHER [--steps N]
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


# The teachers' blocks (tests/bench/inheritance.sh trains them).
FAMILIES = {
    "gpt2": {},
    "llama": {"family": {"kind": "FAMILY_KIND_LLAMA"}, "num_kv_heads": 2, "head_dim": 32},
}


def run(build, teacher, family, arch, comp, init, steps, tmp):
    c = {"architecture": {**arch, **FAMILIES[family], "num_heads": 4, "context_length": 64},
         "compression": comp, "distillation": {"temperature": 2.0, "alpha": 0.5, "init": init}}
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
    parser.add_argument("gpt2_teacher")
    parser.add_argument("llama_teacher")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    teachers = {"gpt2": args.gpt2_teacher, "llama": args.llama_teacher}
    rows = []
    for family, teacher in teachers.items():
        for student, arch, comp in STUDENTS:
            name = f"{family} {student}"
            with tempfile.TemporaryDirectory() as tmp:
                scratch = run(args.build, teacher, family, arch, comp, "INIT_SCRATCH", args.steps, tmp)
                inherit = run(args.build, teacher, family, arch, comp, "INIT_INHERIT", args.steps, tmp)
            rows.append((name, scratch, inherit))
            print(f"  {name}: scratch {scratch:.4f}, inherit {inherit:.4f}", file=sys.stderr, flush=True)
    print(f"Validation loss after {args.steps} steps of distillation (same student, same batches):")
    print(f"{'student':28} {'scratch':>9} {'inherit':>9} {'gain':>8}")
    for name, s, i in rows:
        print(f"{name:28} {s:>9.4f} {i:>9.4f} {s - i:>8.4f}")
    gains = {f: [s - i for n, s, i in rows if n.startswith(f + " ")] for f in teachers}
    mean_gain = sum(s - i for _, s, i in rows) / len(rows)
    for f, g in gains.items():
        print(f"mean gain from inheriting the {f} teacher's weights: {sum(g) / len(g):.4f} nats")
    print(json.dumps({"bench": "inheritance", "steps": args.steps,
                      "students": {n: {"scratch": round(s, 4), "inherit": round(i, 4)} for n, s, i in rows},
                      "mean_gain_nats": round(mean_gain, 4),
                      "mean_gain_nats_by_family": {f: round(sum(g) / len(g), 4) for f, g in gains.items()},
                      "peer": "scratch"}, separators=(",", ":")))


if __name__ == "__main__":
    main()
