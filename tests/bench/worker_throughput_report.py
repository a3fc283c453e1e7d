"""Table and JSON line of the worker_throughput benchmark.

Usage: worker_throughput_report.py [--load-start L] --kdnas K1.json [K2.json...] --torch T1.json [T2.json...]

Throughput is measured two ways. "wall": tokens / total time. "steady" (used
for the ratios and goals): tokens / (median step time x steps), which is robust
to other processes stealing the 2 cores for a while. kdnas time always adds its
share (by tokens) of the one-off teacher-cache build (wall, or median chunk
time x chunks). With several rounds, each side keeps its best time per student.
"""
import argparse
import json


def best(rounds):
    """The first round's figures with each time replaced by its minimum over rounds."""
    out = json.loads(json.dumps(rounds[0]))
    for key in ("cache_seconds", "cache_chunk_median_seconds"):
        if key in out:
            out[key] = min(r[key] for r in rounds)
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds)
    if "peak_gflops" in out:
        out["peak_gflops"] = max(r["peak_gflops"] for r in rounds)
    for i, s in enumerate(out["students"]):
        for key in ("train_seconds", "median_step_seconds"):
            s[key] = min(r["students"][i][key] for r in rounds)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--load-start", default="?")
    ap.add_argument("--kdnas", nargs="+", required=True)
    ap.add_argument("--torch", nargs="+", required=True)
    args = ap.parse_args()
    k = best([json.load(open(f)) for f in args.kdnas])
    t = best([json.load(open(f)) for f in args.torch])
    load_start = args.load_start
    load_end = open("/proc/loadavg").read().split()[0]
    torch_by_name = {s["name"]: s for s in t["students"]}
    total_tokens = sum(s["tokens"] for s in k["students"])
    steps = k["steps"]
    cache_steady = k["cache_chunk_median_seconds"] * k["cache_chunks"]
    peak = k["peak_gflops"]
    rows, cats = [], {}
    for s in k["students"]:
        p = torch_by_name[s["name"]]
        share = s["tokens"] / total_tokens
        kw, tw = s["train_seconds"] + k["cache_seconds"] * share, p["train_seconds"]
        ks, ts = s["median_step_seconds"] * steps + cache_steady * share, p["median_step_seconds"] * steps
        c = cats.setdefault(s["category"], {"tokens": 0, "kw": 0.0, "tw": 0.0, "ks": 0.0, "ts": 0.0,
                                            "flops": 0.0, "dval": 0.0})
        c["tokens"] += s["tokens"]
        c["kw"] += kw
        c["tw"] += tw
        c["ks"] += ks
        c["ts"] += ts
        c["flops"] += s["train_flops_per_token"] * s["tokens"]
        c["dval"] = max(c["dval"], abs(s["val_loss"] - p["val_loss"]))
        rows.append((s["name"], s["tokens"] / ks, s["tokens"] / ts, ts / ks, tw / kw, s["val_loss"], p["val_loss"]))

    print("worker_throughput: %d students x %d steps, batch %d, context %d, %d threads; one teacher (%s); "
          "best of %d rounds" % (len(k["students"]), steps, k["batch"], k["context"], k["threads"],
                                 "4 layers, d_model 128", len(args.kdnas)))
    print("BLAS: %s   matmul peak (512^3, same run): %.1f GFLOP/s   load average: %s at start, %s at end" %
          (k["blas"], peak, load_start, load_end))
    print("teacher-output cache: %.2f s one-off (steady %.2f s), %d windows, %.1f MB of fp16 log-probs" %
          (k["cache_seconds"], cache_steady, k["cache_windows"], k["cache_bytes"] / 1e6))
    print()
    print("%-18s %12s %12s %7s %7s %10s %10s" % ("student", "kdnas tok/s", "torch tok/s", "ratio", "wall",
                                                 "kdnas val", "torch val"))
    for r in rows:
        print("%-18s %12.0f %12.0f %6.2fx %6.2fx %10.4f %10.4f" % r)
    print()
    print("%-14s %12s %12s %7s %7s %13s %8s %13s %8s %9s" % (
        "category", "kdnas tok/s", "torch tok/s", "ratio", "wall", "kdnas GFLOP/s", "MFU", "torch GFLOP/s", "MFU",
        "max dval"))
    out = {"benchmark": "worker_throughput", "threads": k["threads"], "steps": steps, "peak_gflops": peak,
           "blas": k["blas"], "cache_seconds": k["cache_seconds"], "kdnas_peak_rss_mb": k["peak_rss_mb"],
           "torch_peak_rss_mb": t["peak_rss_mb"], "loadavg_start": load_start, "loadavg_end": load_end,
           "rounds": len(args.kdnas)}
    goals = {"small": 1.5, "teacher_sized": 1.1}
    met = True
    for name in ("small", "teacher_sized"):
        c = cats.get(name)
        if not c:
            continue
        ktps, ttps = c["tokens"] / c["ks"], c["tokens"] / c["ts"]
        kg, tg = c["flops"] / c["ks"] / 1e9, c["flops"] / c["ts"] / 1e9
        wall = (c["tokens"] / c["kw"]) / (c["tokens"] / c["tw"])
        print("%-14s %12.0f %12.0f %6.2fx %6.2fx %13.2f %7.1f%% %13.2f %7.1f%% %9.4f" %
              (name, ktps, ttps, ktps / ttps, wall, kg, 100 * kg / peak, tg, 100 * tg / peak, c["dval"]))
        met = met and ktps / ttps >= goals[name] and c["dval"] <= 0.01
        out[name] = {"kdnas_tokens_per_s": round(ktps, 1), "torch_tokens_per_s": round(ttps, 1),
                     "ratio": round(ktps / ttps, 3), "wall_ratio": round(wall, 3),
                     "kdnas_wall_tokens_per_s": round(c["tokens"] / c["kw"], 1),
                     "torch_wall_tokens_per_s": round(c["tokens"] / c["tw"], 1),
                     "kdnas_gflops": round(kg, 3), "torch_gflops": round(tg, 3),
                     "kdnas_mfu": round(kg / peak, 4), "torch_mfu": round(tg / peak, 4),
                     "max_val_loss_diff": round(c["dval"], 5), "goal_ratio": goals[name]}
    print()
    print("ratio: steady tokens/s (median step time); wall: total-time ratio, sensitive to other load.")
    print("GFLOP/s count the student's training FLOPs (3x inference FLOPs per token); the PyTorch loop also")
    print("runs the teacher's forward pass every step, kdnas reads it from the cache built once.")
    print("peak RSS: kdnas %.0f MB, torch %.0f MB   goals (>= 1.5x small, >= 1.1x teacher-sized, |dval| <= 0.01): %s" %
          (k["peak_rss_mb"], t["peak_rss_mb"], "met" if met else "NOT met"))
    out["goals_met"] = met
    print(json.dumps(out))


if __name__ == "__main__":
    main()
