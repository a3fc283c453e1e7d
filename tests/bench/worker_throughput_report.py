"""Table and JSON line of the worker_throughput benchmark.

Usage: worker_throughput_report.py BENCH_JSON [LOADAVG_AT_START]

Both sides trained each student in alternating chunks of steps; each side's
time is the sum of its own training steps. kdnas's time also includes its
share (by tokens) of the one-off teacher-cache build.
"""
import json
import sys


def main():
    k = json.load(open(sys.argv[1]))
    load_start = sys.argv[2] if len(sys.argv) > 2 else "?"
    load_end = open("/proc/loadavg").read().split()[0]
    total_tokens = sum(s["tokens"] for s in k["students"])
    peak = k["peak_gflops"]
    rows, cats = [], {}
    for s in k["students"]:
        ks = s["kdnas_seconds"] + k["cache_seconds"] * s["tokens"] / total_tokens
        ts = s["torch_seconds"]
        c = cats.setdefault(s["category"], {"tokens": 0, "k": 0.0, "t": 0.0, "flops": 0.0, "dval": 0.0})
        c["tokens"] += s["tokens"]
        c["k"] += ks
        c["t"] += ts
        c["flops"] += s["train_flops_per_token"] * s["tokens"]
        c["dval"] = max(c["dval"], abs(s["kdnas_val_loss"] - s["torch_val_loss"]))
        rows.append((s["name"], s["tokens"] / ks, s["tokens"] / ts, ts / ks, s["kdnas_val_loss"], s["torch_val_loss"]))

    print("worker_throughput: %d students x %d steps, batch %d, context %d, %d threads, alternating every %d steps" %
          (len(k["students"]), k["steps"], k["batch"], k["context"], k["threads"], k["chunk"]))
    print("one teacher (4 layers, d_model 128); PyTorch %s eager loop computes its logits every step" % k["torch"])
    print("BLAS: %s   matmul peak (512^3, same run): %.1f GFLOP/s   load average: %s at start, %s at end" %
          (k["blas"], peak, load_start, load_end))
    print("kdnas teacher-output cache: %.2f s one-off (counted), %d windows, %.1f MB of fp16 log-probs" %
          (k["cache_seconds"], k["cache_windows"], k["cache_bytes"] / 1e6))
    print()
    print("%-18s %12s %12s %7s %10s %10s" % ("student", "kdnas tok/s", "torch tok/s", "ratio", "kdnas val", "torch val"))
    for r in rows:
        print("%-18s %12.0f %12.0f %6.2fx %10.4f %10.4f" % r)
    print()
    print("%-14s %12s %12s %7s %13s %7s %13s %7s %9s" % (
        "category", "kdnas tok/s", "torch tok/s", "ratio", "kdnas GFLOP/s", "MFU", "torch GFLOP/s", "MFU", "max dval"))
    out = {"benchmark": "worker_throughput", "threads": k["threads"], "steps": k["steps"], "peak_gflops": peak,
           "blas": k["blas"], "cache_seconds": k["cache_seconds"], "kdnas_peak_rss_mb": k["kdnas_peak_rss_mb"],
           "torch_peak_rss_mb": k["torch_peak_rss_mb"], "loadavg_start": load_start, "loadavg_end": load_end}
    goals = {"small": 1.5, "teacher_sized": 1.1}
    met = True
    for name in ("small", "teacher_sized"):
        c = cats.get(name)
        if not c:
            continue
        ktps, ttps = c["tokens"] / c["k"], c["tokens"] / c["t"]
        kg, tg = c["flops"] / c["k"] / 1e9, c["flops"] / c["t"] / 1e9
        print("%-14s %12.0f %12.0f %6.2fx %13.2f %6.1f%% %13.2f %6.1f%% %9.4f" %
              (name, ktps, ttps, ktps / ttps, kg, 100 * kg / peak, tg, 100 * tg / peak, c["dval"]))
        met = met and ktps / ttps >= goals[name] and c["dval"] <= 0.01
        out[name] = {"kdnas_tokens_per_s": round(ktps, 1), "torch_tokens_per_s": round(ttps, 1),
                     "ratio": round(ktps / ttps, 3), "kdnas_gflops": round(kg, 3), "torch_gflops": round(tg, 3),
                     "kdnas_mfu": round(kg / peak, 4), "torch_mfu": round(tg / peak, 4),
                     "max_val_loss_diff": round(c["dval"], 5), "goal_ratio": goals[name]}
    print()
    print("GFLOP/s count the student's training FLOPs (3x its inference FLOPs per token); MFU against the")
    print("matmul peak above. The PyTorch loop also runs the teacher's forward pass every step.")
    print("peak RSS: kdnas %.0f MB, torch %.0f MB   goals (>= 1.5x small, >= 1.1x teacher-sized, |dval| <= 0.01): %s" %
          (k["kdnas_peak_rss_mb"], k["torch_peak_rss_mb"], "met" if met else "NOT met"))
    out["goals_met"] = met
    print(json.dumps(out))


if __name__ == "__main__":
    main()
