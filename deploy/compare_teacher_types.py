"""Compares a job's frontier with round-to-nearest quantization of the
teacher: at each RTN size level the frontier should hold a student at least
as small with a lower validation loss. Also reports the smallest student
within 0.05 nats of the teacher and its compression against the teacher in fp32.

usage: compare_rtn.py FRONTIER_JSON RTN_JSON TEACHER_PARAMS
"""
import json
import sys


def main():
    frontier = json.load(open(sys.argv[1]))
    rtn = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
    teacher_params = int(sys.argv[3])
    points = [(int(p["metrics"]["size_bytes"]), float(p["metrics"]["val_loss"]), p["trial"])
              for p in frontier.get("points", [])]
    teacher_loss = next(r["val_loss"] for r in rtn if r["bits"] == 16)
    print(f"{'RTN of the teacher':22} {'size':>10} {'loss':>8}   best student at least as small")
    beaten = 0
    levels = [r for r in rtn if r["bits"] < 16]
    for r in levels:
        fits = [p for p in points if p[0] <= r["size_bytes"]]
        best = min(fits, key=lambda p: p[1]) if fits else None
        ok = best is not None and best[1] < r["val_loss"]
        beaten += ok
        desc = f"{best[0]:>10} {best[1]:.4f} {best[2]}" if best else "none"
        print(f"int{r['bits']} group {r['group_size']:<11} {r['size_bytes']:>10} {r['val_loss']:>8.4f}   {desc}"
              f"  {'beats it' if ok else 'DOES NOT beat it'}")
    close = [p for p in points if p[1] <= teacher_loss + 0.05]
    if close:
        s = min(close)
        print(f"smallest student within 0.05 nats of the teacher ({teacher_loss:.4f}): {s[2]}, {s[0]} bytes, "
              f"loss {s[1]:.4f}, {teacher_params * 4 / s[0]:.1f}x smaller than the teacher in fp32")
    print(f"the frontier beats RTN at {beaten} of {len(levels)} size levels")
    return 0 if beaten == len(levels) else 1


if __name__ == "__main__":
    sys.exit(main())
