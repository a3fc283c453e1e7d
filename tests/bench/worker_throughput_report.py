"""Table and JSON line of the worker_throughput benchmark.

Usage: worker_throughput_report.py KDNAS_JSON TORCH_JSON
kdnas time per category = its students' training time + its share (by tokens)
of the one-off teacher-cache build.
"""
import json
import sys


def main():
    k = json.load(open(sys.argv[1]))
    t = json.load(open(sys.argv[2]))
    torch_by_name = {s["name"]: s for s in t["students"]}
    total_tokens = sum(s["tokens"] for s in k["students"])
    peak = k["peak_gflops"]
    rows, cats = [], {}
    for s in k["students"]:
        p = torch_by_name[s["name"]]
        share = k["cache_seconds"] * s["tokens"] / total_tokens
        ks, ts = s["train_seconds"] + share, p["train_seconds"]
        c = cats.setdefault(s["category"], {"tokens": 0, "k": 0.0, "t": 0.0, "flops": 0.0, "dval": 0.0})
        c["tokens"] += s["tokens"]
        c["k"] += ks
        c["t"] += ts
        c["flops"] += s["train_flops_per_token"] * s["tokens"]
        c["dval"] = max(c["dval"], abs(s["val_loss"] - p["val_loss"]))
        rows.append((s["name"], s["tokens"] / ks, s["tokens"] / ts, ts / ks, s["val_loss"], p["val_loss"]))

    print("worker_throughput: %d students x %d steps, batch %d, context %d, %d threads" %
          (len(k["students"]), k["steps"], k["batch"], k["context"], k["threads"]))
    print("BLAS: %s   matmul peak (512^3, same run): %.1f GFLOP/s" % (k["blas"], peak))
    print("teacher-output cache: %.2f s one-off, %d windows, %.1f MB (fp16 log-probs)" %
          (k["cache_seconds"], k["cache_windows"], k["cache_bytes"] / 1e6))
    print()
    print("%-18s %12s %12s %7s %10s %10s" % ("student", "kdnas tok/s", "torch tok/s", "ratio", "kdnas val", "torch val"))
    for r in rows:
        print("%-18s %12.0f %12.0f %6.2fx %10.4f %10.4f" % r)
    print()
    print("%-14s %12s %12s %7s %13s %8s %13s %8s %9s" % ("category", "kdnas tok/s", "torch tok/s", "ratio",
                                                          "kdnas GFLOP/s", "kdnas MFU", "torch GFLOP/s",
                                                          "torch MFU", "max dval"))
    out = {"benchmark": "worker_throughput", "threads": k["threads"], "steps": k["steps"], "peak_gflops": peak,
           "blas": k["blas"], "cache_seconds": k["cache_seconds"], "kdnas_peak_rss_mb": k["peak_rss_mb"],
           "torch_peak_rss_mb": t["peak_rss_mb"]}
    goals = {"small": 1.5, "teacher_sized": 1.1}
    met = True
    for name in ("small", "teacher_sized"):
        c = cats.get(name)
        if not c:
            continue
        ktps, ttps = c["tokens"] / c["k"], c["tokens"] / c["t"]
        kg, tg = c["flops"] / c["k"] / 1e9, c["flops"] / c["t"] / 1e9
        print("%-14s %12.0f %12.0f %6.2fx %13.2f %7.1f%% %13.2f %7.1f%% %9.4f" %
              (name, ktps, ttps, ktps / ttps, kg, 100 * kg / peak, tg, 100 * tg / peak, c["dval"]))
        met = met and ktps / ttps >= goals[name] and c["dval"] <= 0.01
        out[name] = {"kdnas_tokens_per_s": round(ktps, 1), "torch_tokens_per_s": round(ttps, 1),
                     "ratio": round(ktps / ttps, 3), "kdnas_gflops": round(kg, 3), "torch_gflops": round(tg, 3),
                     "kdnas_mfu": round(kg / peak, 4), "torch_mfu": round(tg / peak, 4),
                     "max_val_loss_diff": round(c["dval"], 5), "goal_ratio": goals[name]}
    print()
    print("(GFLOP/s count the student's training FLOPs, 3x its inference FLOPs per token; the PyTorch loop")
    print(" also runs the teacher's forward pass every step, kdnas reads it from the cache.)")
    print("peak RSS: kdnas %.0f MB, torch %.0f MB   goals (>= 1.5x small, >= 1.1x teacher-sized, |dval| <= 0.01): %s" %
          (k["peak_rss_mb"], t["peak_rss_mb"], "met" if met else "NOT met"))
    out["goals_met"] = met
    print(json.dumps(out))


if __name__ == "__main__":
    main()
