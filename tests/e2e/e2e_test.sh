#!/usr/bin/env bash
# End to end through real processes with real training, on a tiny budget: a
# controller, two LibTorch workers, and the CLI (submit, watch, frontier,
# best). The pulled student must load in PyTorch and reproduce the validation
# loss the worker measured.
# Usage: e2e_test.sh KDNAS_CONTROLLER KDNAS_WORKER KDNAS_CLI
set -euo pipefail
CONTROLLER="$1"; WORKER="$2"; CLI="$3"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/tests/e2e/processes.sh"

# A small teacher, trained here in seconds.
"$WORKER" train-teacher --data "$ROOT/data/tinyshakespeare.txt" --out "$DIR/teacher.pt" --layers 2 --d-model 64 \
  --heads 4 --steps 300 --threads 1 --quiet
# The same in Llama blocks with grouped-query attention (a few steps: only its form is checked).
"$WORKER" train-teacher --data "$ROOT/data/tinyshakespeare.txt" --out "$DIR/llama-teacher.pt" --layers 1 \
  --d-model 32 --heads 4 --family llama --kv-heads 2 --steps 3 --eval-tokens 256 --threads 1 --quiet
/usr/bin/python3 - "$DIR/llama-teacher.pt" <<'PY'
import json, sys
import torch
extra = {"kdnas/architecture.json": ""}
torch.jit.load(sys.argv[1], _extra_files=extra)
a = json.loads(extra["kdnas/architecture.json"])
assert a["family"]["kind"] == "FAMILY_KIND_LLAMA" and a.get("numKvHeads", a.get("num_kv_heads")) == 2, a
PY
if "$WORKER" train-teacher --out "$DIR/x.pt" --family gpt3 2>"$DIR/family.err"; then
  echo "train-teacher accepted --family gpt3"; exit 1
fi
grep -q -- "--family: 'gpt3' is not gpt2, llama or qwen2" "$DIR/family.err" || { cat "$DIR/family.err"; exit 1; }
"$CONTROLLER" --listen "$KDNAS_ADDR" --data-dir "$DIR/data" --metrics-listen= >"$DIR/controller.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do "$CLI" jobs >/dev/null 2>&1 && break; sleep 0.1; done
for i in 1 2; do
  "$WORKER" serve --threads 1 --cache-dir "$DIR/w$i" --wait-ms 1000 >"$DIR/w$i.log" 2>&1 &
  PIDS+=($!)
done

cat >"$DIR/job.yaml" <<JOB
display_name: e2e
data: {text: {path: $ROOT/data/tinyshakespeare.txt}}
teacher: {model: {path: teacher.pt}}
space:
  base:
    architecture: {num_layers: 2, d_model: 64, num_heads: 4, context_length: 64}
    distillation: {init: inherit}
  parameters:
    - {name: weight_bits, discrete: {values: [8, 4, 2]}}
    - {name: num_layers, integer_range: {min: 1, max: 2}}
budget: {max_trials: 4, train_steps: 60, eval_tokens: 4096}
seed: 5
report_size_budgets_bytes: [60000]
JOB
JOB=$("$CLI" submit "$DIR/job.yaml" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
timeout 240 "$CLI" watch "$JOB" >"$DIR/watch.log"
grep -q 'SUCCEEDED (trial budget reached' "$DIR/watch.log" || { cat "$DIR/watch.log" "$DIR"/w*.log; exit 1; }
"$CLI" frontier "$JOB" --plot "$DIR/frontier.svg" >"$DIR/frontier.txt"
test -s "$DIR/frontier.svg"
grep -q 'frontier points' "$DIR/frontier.txt"
"$CLI" best "$JOB" --json --out "$DIR/student.pt" --packed-out "$DIR/student.kdna" >"$DIR/best.json"
# A kdnas teacher's students have no Hugging Face layout: said, nothing written.
if "$CLI" best "$JOB" --hf-out "$DIR/hf" 2>"$DIR/hf.err"; then echo "FAILED: --hf-out of a kdnas job"; exit 1; fi
grep -q "has no Hugging Face export: its job's teacher is not an imported checkpoint" "$DIR/hf.err" ||
  { cat "$DIR/hf.err"; exit 1; }
[ ! -e "$DIR/hf" ] || { echo "FAILED: --hf-out wrote $DIR/hf"; exit 1; }
# The student as GGUF: llama.cpp runs it, and its held-out NLL (llama.cpp
# tokenizing the corpus itself) is the worker's val_loss.
"$CLI" best "$JOB" --gguf-out "$DIR/student.gguf" >"$DIR/gguf.txt"
grep -q "wrote $DIR/student.gguf (GGUF" "$DIR/gguf.txt" || { cat "$DIR/gguf.txt"; exit 1; }
"$WORKER" llama --gguf "$DIR/student.gguf" --data "$ROOT/data/tinyshakespeare.txt" --context 64 \
  --eval-tokens 4096 --tokens 100 --prompt "ROMEO:" --speed-tokens 16 >"$DIR/llama.txt"
cat "$DIR/llama.txt"
if "$WORKER" llama --gguf "$DIR/student.gguf" --speed-tokens 16 --speed-runs 0 2>"$DIR/runs.err"; then
  echo "FAILED: --speed-runs 0 accepted"; exit 1
fi
grep -q -- "--speed-runs: must be >= 1" "$DIR/runs.err" || { cat "$DIR/runs.err"; exit 1; }
if "$WORKER" llama --gguf "$DIR/student.gguf" --speed-tokens 16 --speed-runs 1001 2>"$DIR/runs.err"; then
  echo "FAILED: --speed-runs 1001 accepted"; exit 1
fi
grep -q -- "--speed-runs: at most 1000" "$DIR/runs.err" || { cat "$DIR/runs.err"; exit 1; }

/usr/bin/python3 - "$DIR/best.json" "$DIR/student.pt" "$DIR/student.kdna" "$ROOT/data/tinyshakespeare.txt" \
  "$DIR/llama.txt" "$DIR/student.gguf" <<'PY'
import json, os, re, struct, sys
import torch
best = json.load(open(sys.argv[1]))
metrics = best["metrics"]
llama = open(sys.argv[5]).read()
llama_nll = float(re.search(r"held-out NLL ([0-9.]+)", llama).group(1))
assert abs(llama_nll - metrics["val_loss"]) < 0.01, (llama_nll, metrics["val_loss"])
assert int(metrics["ggufSizeBytes"] if "ggufSizeBytes" in metrics else metrics["gguf_size_bytes"]) \
    == os.path.getsize(sys.argv[6]), metrics
assert re.search(r"sample: ROMEO:.{10,}", llama, re.S), llama
peak = int(metrics.get("peakRssBytes", metrics.get("peak_rss_bytes", 0)))
assert 50e6 < peak < 16e9, ("the worker's peak memory during the trial", metrics)
print(f"e2e: the best trial's worker peaked at {peak / 2**20:.0f} MiB")
# A trial's latency measurement, to 4 decimals of a millisecond.
assert re.search(r"decode [0-9]+\.[0-9]{4} ms/token.*\(median of 5 runs\)", llama), llama
print(f"e2e: llama.cpp's held-out NLL of the GGUF student {llama_nll:.4f}, the worker's val_loss "
      f"{metrics['val_loss']:.4f}")
extra = {"kdnas/tokenizer.bin": ""}
model = torch.jit.load(sys.argv[2], _extra_files=extra)
blob = extra["kdnas/tokenizer.bin"]
blob = blob if isinstance(blob, bytes) else blob.encode("latin-1")
vocab = struct.unpack_from("<I", blob, 1)[0]
symbols, pos = [], 5
for _ in range(vocab):
    n = blob[pos]; symbols.append(blob[pos + 1:pos + 1 + n].decode("utf-8")); pos += 1 + n
ids = {s: i for i, s in enumerate(symbols)}
text = open(sys.argv[4], encoding="utf-8").read()
tokens = torch.tensor([ids[c] for c in text], dtype=torch.int64)
held = tokens[int(len(tokens) * 0.9):]
ctx = 64
windows = torch.stack([held[i:i + ctx + 1] for i in range(0, 4096 * 8, 4096 // 8)][:64])
with torch.no_grad():
    logits = model(windows[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), windows[:, 1:].reshape(-1)).item()
packed = os.path.getsize(sys.argv[3])
print(f"e2e: best {best['name']}: worker val loss {metrics['val_loss']:.4f}, PyTorch {loss:.4f}; "
      f"packed {packed} bytes, reported {metrics['size_bytes']}")
assert abs(loss - metrics["val_loss"]) < 0.15, "the downloaded student does not reproduce the worker's loss"
assert packed == int(metrics["size_bytes"]), "the packed artifact's size differs from the reported size"
assert int(metrics["size_bytes"]) == int(best["predicted"]["size_bytes"]), "size differs from the cost model"
PY

# A search over llama.cpp's types: the students are GGUF files of the
# predicted size, and llama.cpp measures the best one as the worker did.
cat >"$DIR/gguf-job.yaml" <<JOB
display_name: e2e-gguf
data: {text: {path: $ROOT/data/tinyshakespeare.txt}}
teacher: {model: {path: teacher.pt}}
space:
  base:
    architecture: {num_layers: 2, d_model: 64, num_heads: 4, context_length: 64}
    distillation: {init: inherit}
  parameters:
    - {name: weight_format, categorical: {values: [q8_0, Q4_0]}}
    - {name: embedding_format, categorical: {values: [same, q4_1]}}
budget: {max_trials: 3, train_steps: 40, eval_tokens: 4096}
seed: 5
JOB
GJOB=$("$CLI" submit "$DIR/gguf-job.yaml" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
timeout 240 "$CLI" watch "$GJOB" >"$DIR/gguf-watch.log"
grep -q 'SUCCEEDED (trial budget reached' "$DIR/gguf-watch.log" || { cat "$DIR/gguf-watch.log" "$DIR"/w*.log; exit 1; }
"$CLI" status "$GJOB" >"$DIR/gguf-status.txt"
grep -q "latency: llama.cpp on each student's GGUF file" "$DIR/gguf-status.txt" || { cat "$DIR/gguf-status.txt"; exit 1; }
"$CLI" trials "$GJOB" >"$DIR/gguf-trials.txt"
grep -Eq 'q(8|4)_0' "$DIR/gguf-trials.txt" || { cat "$DIR/gguf-trials.txt"; exit 1; }
"$CLI" best "$GJOB" --json --gguf-out "$DIR/gguf-student.gguf" >"$DIR/gguf-best.json"
"$CLI" best "$GJOB" >"$DIR/gguf-best.txt"
grep -q "against the teacher's F16 GGUF: .*x smaller, .*x faster to decode" "$DIR/gguf-best.txt" || { cat "$DIR/gguf-best.txt"; exit 1; }
if "$CLI" best "$GJOB" --packed-out "$DIR/none.kdna" 2>"$DIR/packed.err"; then echo "FAILED: --packed-out of a GGUF student"; exit 1; fi
grep -q "has no packed artifact: it is a student in llama.cpp's" "$DIR/packed.err" || { cat "$DIR/packed.err"; exit 1; }
"$WORKER" llama --gguf "$DIR/gguf-student.gguf" --data "$ROOT/data/tinyshakespeare.txt" --context 64 \
  --eval-tokens 4096 >"$DIR/gguf-llama.txt"
/usr/bin/python3 - "$DIR/gguf-best.json" "$DIR/gguf-llama.txt" "$DIR/gguf-student.gguf" <<'PY'
import json, os, re, sys
best = json.load(open(sys.argv[1]))
metrics = best["metrics"]
size = int(metrics["size_bytes"])
assert size == os.path.getsize(sys.argv[3]) == int(best["predicted"]["size_bytes"]), (size, best["predicted"])
assert int(metrics["gguf_size_bytes"]) == size, metrics
assert best["gguf_tensor_types"], best
assert metrics["compression_ratio"] > 1 and metrics["speedup"] > 0, metrics
assert "llama.cpp" in best["latency_measured_with"], best
nll = float(re.search(r"held-out NLL ([0-9.]+)", open(sys.argv[2]).read()).group(1))
assert abs(nll - metrics["val_loss"]) < 0.01, (nll, metrics["val_loss"])
print(f"e2e: GGUF student {best['candidate']['compression']} ({best['gguf_tensor_types']}): "
      f"{size} bytes as predicted; llama.cpp NLL {nll:.4f}, the worker's val_loss {metrics['val_loss']:.4f}; "
      f"{metrics['compression_ratio']:.2f}x smaller and {metrics['speedup']:.2f}x faster than the teacher's F16 GGUF "
      f"({best['latency_measured_with']})")
PY
echo "e2e test passed"
