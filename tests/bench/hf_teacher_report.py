"""Table and JSON line of the hf_teacher benchmark.

Usage: hf_teacher_report.py OUT_DIR LOADAVG_AT_START SHARED_SECONDS PER_WORKER_SECONDS

OUT_DIR/bench.json is hf_teacher_bench's output; the search figures are -1
when the search part was skipped. kdnas's distillation time includes the
teacher pass once, shared by the students in proportion to their tokens; the
eager peer runs the teacher in every step; the cached peer reads kdnas's
shard, so it is compared with kdnas's engine alone (the pass excluded).
"""
import json
import os
import sys


def status(path):
    if not os.path.exists(path):
        return {}
    return json.load(open(path))


def main():
    out, load_start = sys.argv[1], sys.argv[2]
    shared_s, per_worker_s = float(sys.argv[3]), float(sys.argv[4])
    k = json.load(open(os.path.join(out, "bench.json")))
    load_end = open("/proc/loadavg").read().split()[0]
    students = k["students"]
    tokens = sum(s["tokens"] for s in students)
    kdnas_engine = sum(s["kdnas_seconds"] for s in students)
    kdnas_total = kdnas_engine + k["pass_seconds"]
    eager = sum(s["eager_seconds"] for s in students)
    cached = sum(s["cached_seconds"] for s in students)
    bytes_per_token = k["shard_bytes"] / k["shard_tokens"]
    full_fp16 = 2.0 * k["vocab"]

    print("hf_teacher: a teacher of SmolLM2-135M's shape (%d layers, d_model %d, vocabulary %d, "
          "random weights, BF16 on disk)" % (k["teacher_layers"], k["teacher_d_model"], k["vocab"]))
    print("%d students x %d steps of %d windows x %d tokens, %d threads, top-%d teacher outputs; "
          "kdnas and PyTorch %s alternate every %d steps"
          % (len(students), k["steps"], k["batch"], k["context"], k["threads"], k["top_k"],
             k["torch"], k["chunk"]))
    print("BLAS: %s   matmul peak (512^3, same run): %.1f GFLOP/s   load average: %s at start, %s at end"
          % (k["blas"], k["peak_gflops"], load_start, load_end))
    print("kdnas teacher pass: %.1f s once for %d tokens (%.0f tokens/s), shard %.2f MB"
          % (k["pass_seconds"], k["shard_tokens"], k["shard_tokens"] / k["pass_seconds"],
             k["shard_bytes"] / 1e6))
    print()
    print("%-10s %13s %13s %13s %10s %10s %10s" % ("student", "kdnas tok/s", "eager tok/s",
                                                  "cached tok/s", "kdnas val", "eager val",
                                                  "cached val"))
    for s in students:
        t = s["tokens"]
        print("%-10s %13.0f %13.0f %13.0f %10.4f %10.4f %10.4f"
              % (s["name"], t / s["kdnas_seconds"], t / s["eager_seconds"], t / s["cached_seconds"],
                 s["kdnas_val_loss"], s["eager_val_loss"], s["cached_val_loss"]))
    print("(kdnas tok/s per student: its engine alone; the pass is counted in the totals below)")
    print()
    ratio_vs_torch = eager / kdnas_total
    ratio_cached = cached / kdnas_engine
    print("distillation, all students, pass counted once:  kdnas %.0f tok/s, PyTorch eager KD %.0f "
          "tok/s: %.2fx (goal >= 1.5x)" % (tokens / kdnas_total, tokens / eager, ratio_vs_torch))
    print("the engine alone, same top-k targets:           kdnas %.0f tok/s, PyTorch %.0f tok/s: "
          "%.2fx (goal >= 1.1x)" % (tokens / kdnas_engine, tokens / cached, ratio_cached))
    print("teacher outputs: %.1f bytes/token against %.0f for fp16 full logits: 1/%.0f (goal <= 1/100)"
          % (bytes_per_token, full_fp16, full_fp16 / bytes_per_token))
    print("peak RSS: kdnas %.0f MB (after loading the teacher and corpus: %.0f MB), PyTorch eager "
          "%.0f MB, PyTorch cached %.0f MB"
          % (k["kdnas_peak_rss_mb"], k["kdnas_rss_loaded_mb"], k["eager_peak_rss_mb"],
             k["cached_peak_rss_mb"]))
    search = {}
    if shared_s > 0 and per_worker_s > 0:
        sh = status(os.path.join(out, "search-shared", "status.json")).get("progress", {})
        print("search on two workers: shared teacher pass %.1f s, each worker its own %.1f s: %.2fx "
              "(pass: %s shards, %.1f worker-seconds)"
              % (shared_s, per_worker_s, per_worker_s / shared_s, sh.get("teacher_shards", "?"),
                 float(sh.get("teacher_pass_worker_seconds", 0))))
        search = {"search_shared_seconds": shared_s, "search_per_worker_seconds": per_worker_s,
                  "search_speedup": round(per_worker_s / shared_s, 3)}
    result = {
        "bench": "hf_teacher", "teacher": "smollm2-135m-shape", "threads": k["threads"],
        "students": len(students), "steps": k["steps"], "batch": k["batch"],
        "context": k["context"], "top_k": k["top_k"], "tokens": tokens,
        "kdnas_tokens_per_second": round(tokens / kdnas_total, 1),
        "kdnas_engine_tokens_per_second": round(tokens / kdnas_engine, 1),
        "torch_eager_tokens_per_second": round(tokens / eager, 1),
        "torch_cached_tokens_per_second": round(tokens / cached, 1),
        "ratio_vs_torch": round(ratio_vs_torch, 3), "ratio_vs_torch_cached": round(ratio_cached, 3),
        "pass_seconds": round(k["pass_seconds"], 2), "cache_bytes_per_token": round(bytes_per_token, 2),
        "cache_fraction_of_fp16_logits": round(bytes_per_token / full_fp16, 6),
        "kdnas_peak_rss_mb": k["kdnas_peak_rss_mb"], "torch_eager_peak_rss_mb": k["eager_peak_rss_mb"],
        "torch_cached_peak_rss_mb": k["cached_peak_rss_mb"],
        "peer": "PyTorch %s eager KD loops (teacher every step; same top-k shard)" % k["torch"],
    }
    result.update(search)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
