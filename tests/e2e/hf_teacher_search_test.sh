#!/usr/bin/env bash
# A search on an imported Hugging Face teacher of each family, through real
# processes: `kdnas submit` packs the checkpoint directory into a tar blob,
# the controller validates and sizes the job with the checkpoint's tokenizer,
# a LibTorch worker unpacks and runs the teacher, and `kdnas best` pulls a
# student of the teacher's family that carries the checkpoint's tokenizer
# files and samples text, and the same student in the teacher's layout
# (--hf-out). A TorchScript student is then a teacher itself (its tokenizer
# read back from the file), which students can inherit from, and so is a
# student in the Hugging Face layout. Students of every family inherit from
# their teacher.
# Usage: hf_teacher_search_test.sh KDNAS_CONTROLLER KDNAS_WORKER KDNAS_CLI
set -euo pipefail
CONTROLLER="$(realpath "$1")"; WORKER="$(realpath "$2")"; CLI="$(realpath "$3")"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/tests/e2e/processes.sh"

FAMILIES=(llama qwen2 gpt2 llama-sp)
# run_job NAME: submits $DIR/NAME.yaml, waits until its trial budget is
# reached and writes $DIR/NAME.status; sets JOB.
run_job() {
  JOB=$(cd "$DIR" && "$CLI" submit "$1.yaml" --json |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
  kill -0 "$WORKER_PID" 2>/dev/null || { echo "the worker exited:"; cat "$DIR/worker.log"; exit 1; }
  timeout 240 "$CLI" watch "$JOB" >"$DIR/$1.watch" || { cat "$DIR/$1.watch" "$DIR/worker.log"; exit 1; }
  grep -q 'SUCCEEDED (trial budget reached' "$DIR/$1.watch" ||
    { cat "$DIR/$1.watch" "$DIR/worker.log"; exit 1; }
  "$CLI" status "$JOB" --json >"$DIR/$1.status"
}

for family in "${FAMILIES[@]}"; do
  /usr/bin/python3 "$ROOT/tests/fixtures/make_hf_teacher.py" "$family" "$DIR/$family" >/dev/null
done
"$CONTROLLER" --listen "$KDNAS_ADDR" --data-dir "$DIR/data" --metrics-listen= >"$DIR/controller.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do "$CLI" jobs >/dev/null 2>&1 && break; sleep 0.1; done
"$WORKER" serve --threads 1 --cache-dir "$DIR/worker" --wait-ms 1000 --measure-latency=false \
  >"$DIR/worker.log" 2>&1 &
WORKER_PID=$!
PIDS+=($WORKER_PID)

for family in "${FAMILIES[@]}"; do
  # Llama and Qwen2 students have grouped-query attention to search.
  kv=""; [ "$family" != gpt2 ] && kv="    - {name: num_kv_heads, discrete: {values: [1, 2]}}"
  cat >"$DIR/$family.yaml" <<JOB
display_name: hf-$family
data: {text: {path: $ROOT/data/tinyshakespeare.txt}}
teacher: {hf: {path: $family}}
space:
  base:
    architecture: {num_layers: 1, d_model: 32, num_heads: 2, d_ff: 64, context_length: 32}
    compression: {group_size: 32}
    distillation: {init: inherit}
  parameters:
    - {name: weight_bits, discrete: {values: [8, 4]}}
    - {name: num_layers, integer_range: {min: 1, max: 2}}
$kv
export: {hf_loadable: true}
budget: {max_trials: 2, train_steps: 20, eval_tokens: 1024}
seed: 3
JOB
  run_job "$family"
  "$CLI" best "$JOB" --json --out "$DIR/$family.pt" --packed-out "$DIR/$family.kdna" \
    --hf-out "$DIR/$family-hf" >"$DIR/$family.best"
  # It never writes into an existing directory.
  if "$CLI" best "$JOB" --hf-out "$DIR/$family-hf" >/dev/null 2>"$DIR/$family.again"; then
    echo "kdnas best --hf-out wrote into an existing directory"; exit 1
  fi
  grep -q -- "--hf-out: $DIR/$family-hf exists: give a new directory" "$DIR/$family.again" ||
    { cat "$DIR/$family.again"; exit 1; }
  "$WORKER" generate --model "$DIR/$family.pt" --tokens 24 --prompt "ROMEO:" --seed 1 >"$DIR/$family.sample"
  /usr/bin/python3 - "$DIR" "$family" <<'PY'
import io, json, os, sys, tarfile
import torch
d, family = sys.argv[1], sys.argv[2]
job = json.load(open(f"{d}/{family}.status"))
best = json.load(open(f"{d}/{family}.best"))
data, teacher = job["data_info"], job["teacher_info"]
want_kind = "TOKENIZER_KIND_SENTENCEPIECE" if family == "llama-sp" else "TOKENIZER_KIND_BPE"
assert data["tokenizer"] == want_kind, data
hf = teacher["hf"]
# Every trial inherited from the teacher (a worker that cannot inherit fails the trial).
assert teacher["inheritable"] is True, teacher
assert job["progress"].get("trials_failed", 0) == 0, job["progress"]
config = json.load(open(f"{d}/{family}/config.json"))
assert int(data["vocab_size"]) == config["vocab_size"] == hf["vocab_size"], (data, hf)
# The student carries the checkpoint's tokenizer files, byte for byte.
extra = {"kdnas/tokenizer.bin": ""}
torch.jit.load(f"{d}/{family}.pt", _extra_files=extra)
blob = extra["kdnas/tokenizer.bin"]
blob = blob if isinstance(blob, bytes) else blob.encode("latin-1")
assert blob[0] == 2 and int.from_bytes(blob[1:5], "little") == config["vocab_size"]
with tarfile.open(fileobj=io.BytesIO(blob[5:])) as tar:
    names = sorted(m.name for m in tar.getmembers())
    for m in tar.getmembers():
        assert tar.extractfile(m).read() == open(f"{d}/{family}/{m.name}", "rb").read(), m.name
assert names == sorted(hf["tokenizer_files"]), (names, hf["tokenizer_files"])
assert int(data["tokenizer_bytes"]) == len(blob), (data["tokenizer_bytes"], len(blob))
# Students are made of the teacher's blocks (the TorchScript file says so too).
want_family = {"gpt2": None, "qwen2": "FAMILY_KIND_QWEN2"}.get(family, "FAMILY_KIND_LLAMA")
extra = {"kdnas/architecture.json": ""}
torch.jit.load(f"{d}/{family}.pt", _extra_files=extra)
for architecture in (best["candidate"]["architecture"], json.loads(extra["kdnas/architecture.json"])):
    # proto3 JSON leaves out GPT-2's kind (0), and the whole family when it is kdnas's default.
    assert architecture.get("family", {}).get("kind") == want_family, (family, architecture)
# kdnas best --hf-out: the student in the teacher's layout, with its tokenizer files.
hf_dir = f"{d}/{family}-hf"
exported = json.load(open(f"{hf_dir}/config.json"))
assert exported["architectures"] == config["architectures"], (exported, config)
# In the teacher's dtype (the fixtures are F32), with its tokenizer's EOS.
assert exported["torch_dtype"] == "float32" and exported["vocab_size"] == config["vocab_size"], exported
assert "eos_token_id" in exported, exported
assert sorted(os.listdir(hf_dir)) == sorted(["config.json", "model.safetensors"] + hf["tokenizer_files"]), \
    os.listdir(hf_dir)
size = int(best["metrics"]["size_bytes"])
assert size == os.path.getsize(f"{d}/{family}.kdna"), size
sample = open(f"{d}/{family}.sample", encoding="utf-8", errors="replace").read()
assert sample.startswith("ROMEO:") and len(sample) > len("ROMEO:"), sample
print(f"hf {family}: {hf['architecture']} teacher, {data['tokenizer']} vocabulary "
      f"{data['vocab_size']}, tokenizer {len(blob)} bytes of {names}; best student "
      f"{size} bytes, val loss {best['metrics']['val_loss']:.3f}; sample {sample[:40]!r}")
PY
done

# The GPT-2 and Llama students as kdnas teachers: the same tokenizer,
# inheritable, their students of their family.
for family in gpt2 llama; do
  cat >"$DIR/$family-student-teacher.yaml" <<JOB
display_name: hf-$family-student-as-teacher
data: {text: {path: $ROOT/data/tinyshakespeare.txt}}
teacher: {model: {path: $family.pt}}
space:
  base:
    architecture: {num_layers: 1, d_model: 32, num_heads: 2, d_ff: 64, context_length: 32}
    compression: {group_size: 32}
    distillation: {init: inherit}
  parameters:
    - {name: weight_bits, discrete: {values: [8, 4]}}
budget: {max_trials: 1, train_steps: 10, eval_tokens: 1024}
JOB
  run_job "$family-student-teacher"
  /usr/bin/python3 - "$DIR" "$family" <<'PY'
import json, sys
d, family = sys.argv[1], sys.argv[2]
job = json.load(open(f"{d}/{family}-student-teacher.status"))
teacher = json.load(open(f"{d}/{family}.status"))
assert job["data_info"]["tokenizer"] == "TOKENIZER_KIND_BPE", job["data_info"]
assert job["data_info"]["tokenizer_bytes"] == teacher["data_info"]["tokenizer_bytes"]
assert job["teacher_info"]["inheritable"] is True, job["teacher_info"]
assert job["progress"].get("trials_failed", 0) == 0, job["progress"]
kind = lambda info: info.get("student_family", {}).get("kind")  # GPT-2's kind (0) is left out
assert kind(job["teacher_info"]) == kind(teacher["teacher_info"]), (job["teacher_info"], teacher["teacher_info"])
print(f"hf {family} student as a teacher: {job['data_info']['tokenizer']}, "
      f"{job['data_info']['tokenizer_bytes']} tokenizer bytes, inheritable")
PY
done

# The Llama student written in its teacher's layout (kdnas best --hf-out, in
# the teacher's F32) is itself a Hugging Face teacher: a job on that directory, whose
# students inherit from it. kdnas-worker
# export-hf writes the same checkpoint from the TorchScript student.
"$WORKER" export-hf --model "$DIR/llama.pt" --out "$DIR/llama-hf16" --dtype f16 >/dev/null
sed -e 's/hf-gpt2-student-as-teacher/hf-exported-student/' \
  -e 's|teacher: {model: {path: gpt2.pt}}|teacher: {hf: {path: llama-hf}}|' \
  "$DIR/gpt2-student-teacher.yaml" >"$DIR/exported.yaml"
grep -q 'hf: {path: llama-hf}' "$DIR/exported.yaml"
run_job exported
/usr/bin/python3 - "$DIR" <<'PY'
import json, os, sys
d = sys.argv[1]
job = json.load(open(f"{d}/exported.status"))
best = json.load(open(f"{d}/llama.best"))
config = json.load(open(f"{d}/llama-hf/config.json"))
student = best["candidate"]["architecture"]
assert config["architectures"] == ["LlamaForCausalLM"], config
assert config["num_hidden_layers"] == int(student.get("num_layers", 4)), (config, student)
assert sorted(os.listdir(f"{d}/llama-hf")) == ["config.json", "model.safetensors", "tokenizer.json",
                                                "tokenizer_config.json"], os.listdir(f"{d}/llama-hf")
f16 = json.load(open(f"{d}/llama-hf16/config.json"))
assert f16.pop("torch_dtype") == "float16" and config.pop("torch_dtype") == "float32", (f16, config)
assert f16 == config, (f16, config)
hf = job["teacher_info"]["hf"]
assert hf["architecture"] == "LlamaForCausalLM" and hf["weight_dtype"] == "F32", hf
assert job["teacher_info"]["student_family"]["kind"] == "FAMILY_KIND_LLAMA", job["teacher_info"]
assert job["progress"].get("trials_failed", 0) == 0, job["progress"]
print(f"hf exported student as a teacher: {hf['architecture']}, {hf['num_layers']} layers, "
      f"{hf['num_kv_heads']} KV heads, {hf['parameters']} parameters in {hf['weight_dtype']}")
PY
