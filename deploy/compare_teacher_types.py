"""Compares a job's frontier with the teacher itself rounded to llama.cpp's
types: for each type, the teacher's GGUF written in it (`kdnas-worker
export-gguf --format TYPE`, llama.cpp's reference quantizer with its fallbacks
for rows the block does not divide, no training) is measured by llama.cpp on
the job's held-out windows, and the frontier should hold a student whose GGUF
is at least as small with a lower loss. Also reports the smallest student
within 0.05 nats of the teacher's F16 GGUF and how much smaller it is.

The students' losses are their `val_loss` (kdnas evaluates the weights the
GGUF holds; the tests check llama.cpp's NLL of such a file against it within
0.01 nats, and the quickstart measures the student it pulls with llama.cpp).

usage: compare_teacher_types.py WORKER TEACHER_PT CORPUS FRONTIER_JSON OUT_DIR TYPE... [--eval-tokens N]
"""
import argparse
import json
import os
import re
import subprocess
import sys

NLL_MARGIN = 0.05


def measure(worker, gguf, corpus, eval_tokens):
    """llama.cpp's mean NLL of GGUF on the corpus's held-out windows (those of a job's val_loss)."""
    out = subprocess.run([worker, "llama", "--gguf", gguf, "--data", corpus, "--eval-tokens",
                          str(eval_tokens), "--threads", "1"],
                         check=True, capture_output=True, text=True).stdout
    found = re.search(r"held-out NLL ([0-9.]+)", out)
    if not found:
        sys.exit(f"compare_teacher_types: no NLL in the output of llama on {gguf}:\n{out}")
    return float(found.group(1))


def teacher_in(worker, teacher_pt, out_dir, fmt, corpus, eval_tokens):
    path = os.path.join(out_dir, f"teacher-{fmt}.gguf")
    if not os.path.exists(path):
        subprocess.run([worker, "export-gguf", "--model", teacher_pt, "--out", path, "--format", fmt],
                       check=True, stdout=subprocess.DEVNULL)
    return {"type": fmt, "bytes": os.path.getsize(path), "nll": measure(worker, path, corpus, eval_tokens)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("worker")
    ap.add_argument("teacher_pt")
    ap.add_argument("corpus")
    ap.add_argument("frontier_json")
    ap.add_argument("out_dir")
    ap.add_argument("types", nargs="+")
    ap.add_argument("--eval-tokens", type=int, default=16384, help="the job's budget.eval_tokens")
    args = ap.parse_args()

    frontier = json.load(open(args.frontier_json))
    points = [(int(p["metrics"]["size_bytes"]), float(p["metrics"]["val_loss"]), p["trial"])
              for p in frontier.get("points", [])]
    f16 = teacher_in(args.worker, args.teacher_pt, args.out_dir, "f16", args.corpus, args.eval_tokens)
    print(f"{'the teacher in':16} {'GGUF bytes':>10} {'NLL':>8}   best student at least as small "
          "(bytes, val_loss, trial)")
    print(f"{'f16':16} {f16['bytes']:>10} {f16['nll']:>8.4f}")
    beaten = 0
    for fmt in args.types:
        t = teacher_in(args.worker, args.teacher_pt, args.out_dir, fmt, args.corpus, args.eval_tokens)
        fits = [p for p in points if p[0] <= t["bytes"]]
        best = min(fits, key=lambda p: p[1]) if fits else None
        ok = best is not None and best[1] < t["nll"]
        beaten += ok
        desc = f"{best[0]:>10} {best[1]:.4f} trial {best[2]}" if best else "none"
        print(f"{fmt:16} {t['bytes']:>10} {t['nll']:>8.4f}   {desc}  "
              f"{'beats it' if ok else 'DOES NOT beat it'}")
    close = [p for p in points if p[1] <= f16["nll"] + NLL_MARGIN]
    if close:
        s = min(close)
        print(f"smallest student within {NLL_MARGIN} nats of the teacher's F16 GGUF ({f16['nll']:.4f}): "
              f"trial {s[2]}, {s[0]} bytes, loss {s[1]:.4f}, {f16['bytes'] / s[0]:.1f}x smaller")
    print(f"the frontier beats the teacher rounded to {beaten} of {len(args.types)} types")
    return 0 if beaten == len(args.types) else 1


if __name__ == "__main__":
    sys.exit(main())
