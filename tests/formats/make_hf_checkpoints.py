"""Checkpoints for hf_checkpoint_test: a good one of each family and hostile
variants, each in its own directory under OUT.

    /usr/bin/python3 tests/formats/make_hf_checkpoints.py OUT
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import hf_checkpoint  # noqa: E402
import safetensors_writer  # noqa: E402


def variant(out, name, family, edit):
    """A checkpoint of `family` whose state dict `edit` changes."""
    directory = os.path.join(out, name)
    os.makedirs(directory, exist_ok=True)
    config = hf_checkpoint.CONFIGS[family]("")
    sd = hf_checkpoint.random_weights(family, config, torch.Generator().manual_seed(1))
    edit(sd)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    safetensors_writer.save_file(sd, os.path.join(directory, "model.safetensors"))


def main():
    out = sys.argv[1]
    for family in ("llama", "qwen2", "gpt2"):
        hf_checkpoint.make_checkpoint(family, os.path.join(out, family))
    hf_checkpoint.make_checkpoint("llama", os.path.join(out, "sharded"), dtype="BF16",
                                  shard_bytes=30000)
    variant(out, "missing", "llama",
            lambda sd: sd.pop("model.layers.1.mlp.down_proj.weight"))
    variant(out, "extra", "llama",
            lambda sd: sd.update({"model.layers.0.mlp.router.weight": torch.zeros(4, 64)}))
    variant(out, "misshaped", "qwen2",
            lambda sd: sd.update({"model.layers.0.self_attn.k_proj.bias": torch.zeros(31)}))
    variant(out, "int_dtype", "gpt2",
            lambda sd: sd.update({"transformer.ln_f.bias": torch.zeros(64, dtype=torch.int32)}))
    variant(out, "tied_copy", "llama",  # a tied model that also saved lm_head: accepted
            lambda sd: sd.update({"lm_head.weight": sd["model.embed_tokens.weight"].clone()}))
    variant(out, "buffers", "gpt2",  # old GPT-2 checkpoints carry the causal-mask buffers
            lambda sd: sd.update({"transformer.h.0.attn.bias": torch.ones(1, 1, 8, 8)}))


if __name__ == "__main__":
    main()
