"""Writes the checkpoints safetensors_test reads, with tests/fixtures/
safetensors_writer.py, and manifest.json: what torch itself says about each
tensor (dtype, shape, raw bytes, float32 values), for the test to compare.
    python3 make_safetensors_fixtures.py OUT_DIR
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import safetensors_writer  # noqa: E402

FLOAT_TYPES = (torch.float32, torch.float16, torch.bfloat16)


def special_values(dtype):
    """Zeros of both signs, infinities, NaN, the extremes and subnormals."""
    info = torch.finfo(dtype)
    values = [0.0, -0.0, 1.0, -2.5, float("inf"), float("-inf"), float("nan"), info.max, -info.max,
              info.tiny, info.tiny / 4, -info.tiny / 2, info.eps, 1.0 / 3.0, 65504.0, 1e-7]
    return torch.tensor(values, dtype=torch.float64).to(dtype)


def single_tensors():
    g = torch.Generator().manual_seed(7)
    return {
        "embed.weight": torch.randn(5, 4, generator=g),
        "layers.0.attn.q.weight": torch.randn(4, 4, generator=g).half(),
        "layers.0.attn.q.bias": torch.randn(4, generator=g).to(torch.bfloat16),
        "special.f32": special_values(torch.float32),
        "special.f16": special_values(torch.float16),
        "special.bf16": special_values(torch.bfloat16),
        # Every 16-bit pattern once: the F16 and BF16 conversions are exhaustive.
        "all.f16": torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16).view(torch.float16),
        "all.bf16": torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16).view(torch.bfloat16),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 3),
        "cube.f64": torch.randn(2, 3, 4, generator=g, dtype=torch.float64),
        "ids.i64": torch.arange(-3, 9, dtype=torch.int64).reshape(3, 4),
        "ids.i32": torch.arange(-5, 5, dtype=torch.int32),
        "ids.i16": torch.tensor([-32768, 0, 32767], dtype=torch.int16),
        "ids.i8": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
        "bytes.u8": torch.tensor([0, 1, 254, 255], dtype=torch.uint8),
        "mask": torch.tensor([[True, False, True]]),
        "naïve.ünïcode": torch.ones(2),
    }


def sharded_tensors():
    g = torch.Generator().manual_seed(11)
    tensors = {}
    for layer in range(3):
        tensors[f"model.layers.{layer}.mlp.weight"] = torch.randn(8, 4, generator=g)  # 128 B
        tensors[f"model.layers.{layer}.norm.weight"] = torch.randn(4, generator=g).half()  # 8 B
    tensors["lm_head.weight"] = torch.randn(16, 8, generator=g).to(torch.bfloat16)  # 256 B, alone
    tensors["model.embed.weight"] = torch.randn(6, 4, generator=g)  # 96 B
    return tensors


def describe(tensors):
    out = {}
    for name, t in tensors.items():
        entry = {"dtype": str(t.dtype), "shape": list(t.shape),
                 "raw_hex": safetensors_writer.tensor_bytes(t).hex()}
        if t.dtype in FLOAT_TYPES:
            # torch's own conversion to float32, as bit patterns.
            entry["f32_bits"] = t.float().reshape(-1).view(torch.int32).tolist()
        out[name] = entry
    return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {}

    single = single_tensors()
    metadata = {"format": "pt", "note": "written by make_safetensors_fixtures.py, ünïcode"}
    os.makedirs(os.path.join(out, "single"), exist_ok=True)
    safetensors_writer.save_file(single, os.path.join(out, "single", "model.safetensors"), metadata)
    manifest["single"] = {"metadata": metadata, "tensors": describe(single)}

    sharded = sharded_tensors()
    files = safetensors_writer.save_sharded(sharded, os.path.join(out, "sharded"), max_shard_bytes=200)
    with open(os.path.join(out, "sharded", "model.safetensors.index.json")) as f:
        weight_map = json.load(f)["weight_map"]
    manifest["sharded"] = {"files": files, "weight_map": weight_map, "tensors": describe(sharded)}

    # The examples of the Rust library's tests (test_serialization, test_empty).
    safetensors_writer.save_file({"attn.0": torch.arange(6, dtype=torch.float32).reshape(1, 2, 3)},
                                 os.path.join(out, "rust_serialization.safetensors"))
    safetensors_writer.save_file({}, os.path.join(out, "rust_empty_metadata.safetensors"),
                                 {"framework": "pt"})

    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
