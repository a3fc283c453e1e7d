"""PyTorch peers of the hf_teacher benchmark: standard PyTorch 1.13 eager
knowledge-distillation loops for Llama-family students (the modeling_llama
formulas: RMSNorm, rotate-half rotary embeddings, repeat_kv, SwiGLU; PyTorch
1.13 has no fused attention), trained on the same batches from the same
initial weights, with the same optimizer (AdamW, warm-up and cosine decay,
weight decay on matrices, gradient clipping) and thread count as kdnas.

  eager   runs the teacher (the Hugging Face checkpoint, in fp32) on every
          batch under no_grad and distils from its full log-probabilities;
  cached  reads the teacher's top-k outputs from kdnas's teacher-pass shard
          (docs/teacher-pass.md) and uses the same top-k loss as kdnas.

Driven by hf_teacher_bench over stdin/stdout, one JSON reply per line:
  setup {"dir", "teacher_dir", "shard", "threads", "batch", "context", "steps", "bos", "mode"}
  student {"name", "init", "temperature", "alpha"}
  run N  -> {"seconds": s}      eval -> {"val_loss": v}
  rss    -> {"peak_rss_mb": m, "torch": version, "threads": n}
"""
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_protocol import serve  # noqa: E402


def read_safetensors(path):
    """name -> fp32 tensor (F32, F16 and BF16 files)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = np.frombuffer(data[a:b], dtype=np.uint8)
        if info["dtype"] == "F32":
            arr = raw.view(np.float32)
        elif info["dtype"] == "F16":
            arr = raw.view(np.float16).astype(np.float32)
        elif info["dtype"] == "BF16":
            arr = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{name}: dtype {info['dtype']}")
        out[name] = torch.from_numpy(arr.copy()).view(info["shape"])
    return out


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, self.heads, self.kv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = c.get("head_dim") or h // self.heads
        ff, eps = c["intermediate_size"], c["rms_norm_eps"]
        self.input_layernorm = RMSNorm(h, eps)
        self.post_attention_layernorm = RMSNorm(h, eps)
        self.self_attn = nn.Module()
        self.self_attn.q_proj = nn.Linear(h, self.heads * self.hd, bias=False)
        self.self_attn.k_proj = nn.Linear(h, self.kv * self.hd, bias=False)
        self.self_attn.v_proj = nn.Linear(h, self.kv * self.hd, bias=False)
        self.self_attn.o_proj = nn.Linear(self.heads * self.hd, h, bias=False)
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(h, ff, bias=False)
        self.mlp.up_proj = nn.Linear(h, ff, bias=False)
        self.mlp.down_proj = nn.Linear(ff, h, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        a = self.input_layernorm(x)
        att = self.self_attn
        q = att.q_proj(a).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = att.k_proj(a).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = att.v_proj(a).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        s = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
        o = torch.softmax(s.masked_fill(mask[:t, :t], float("-inf")), dim=-1) @ v
        x = x + att.o_proj(o.transpose(1, 2).reshape(b, t, self.heads * self.hd))
        m = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(F.silu(self.mlp.gate_proj(m)) * self.mlp.up_proj(m))


class Llama(nn.Module):
    """LlamaForCausalLM with save_pretrained's parameter names."""

    def __init__(self, c, context):
        super().__init__()
        h = c["hidden_size"]
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c["vocab_size"], h)
        self.model.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(h, c["rms_norm_eps"])
        self.tied = c.get("tie_word_embeddings", False)
        if not self.tied:
            self.lm_head = nn.Linear(h, c["vocab_size"], bias=False)
        hd = c.get("head_dim") or h // c["num_attention_heads"]
        theta = c.get("rope_theta", 10000.0)
        inv = 1.0 / (theta ** (torch.arange(0, hd, 2).float() / hd))
        freqs = torch.outer(torch.arange(context).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos()[None, None])
        self.register_buffer("sin", emb.sin()[None, None])
        self.register_buffer("mask", torch.triu(torch.ones(context, context, dtype=torch.bool), 1))

    def forward(self, ids):
        t = ids.shape[1]
        x = self.model.embed_tokens(ids)
        cos, sin = self.cos[:, :, :t], self.sin[:, :, :t]
        for layer in self.model.layers:
            x = layer(x, cos, sin, self.mask)
        x = self.model.norm(x)
        head = self.model.embed_tokens.weight if self.tied else self.lm_head.weight
        return x @ head.T


def load_llama(directory, context):
    config = json.load(open(os.path.join(directory, "config.json")))
    model = Llama(config, context)
    weights = read_safetensors(os.path.join(directory, "model.safetensors"))
    missing = set(dict(model.named_parameters())) - set(weights)
    if missing:
        raise ValueError(f"{directory}: no weights for {sorted(missing)[:3]}")
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(weights[name])
    return model


def lr_at(step, steps, peak, warmup, min_ratio=0.1):
    """kdnas's LearningRateAt (workers/distill.cc)."""
    if step < warmup:
        return peak * (step + 1) / (warmup + 1)
    p = min(1.0, max(0.0, (step - warmup) / max(1, steps - warmup)))
    low = peak * min_ratio
    return low + 0.5 * (1.0 + math.cos(math.pi * p)) * (peak - low)


class Shard:
    """A teacher-pass shard (docs/teacher-pass.md), read one step at a time."""

    def __init__(self, path):
        self.f = open(path, "rb")
        magic = self.f.read(8)
        if magic != b"KDNASTS1":
            raise ValueError(f"{path}: not a teacher shard")
        (self.vocab, full, self.k, self.batch, self.window, _, self.first,
         self.steps) = struct.unpack("<8q", self.f.read(64))
        if full:
            raise ValueError("the peer reads top-k shards only")
        self.id_dtype = np.int16 if self.vocab <= 65536 else np.int32
        id_bytes = np.dtype(self.id_dtype).itemsize
        self.window_bytes = self.window * self.k * id_bytes + self.window * (self.k + 1) * 2
        self.step_bytes = self.batch * 8 + self.batch * self.window_bytes

    def targets(self, step, starts):
        self.f.seek(72 + (step - self.first) * self.step_bytes)
        raw = self.f.read(self.step_bytes)
        got = np.frombuffer(raw[: self.batch * 8], dtype=np.int64)
        if not np.array_equal(got, starts.numpy()):
            raise ValueError(f"step {step}: the shard holds other windows")
        ids, lps = [], []
        w, k = self.window, self.k
        n_ids = w * k * np.dtype(self.id_dtype).itemsize
        for i in range(self.batch):
            off = self.batch * 8 + i * self.window_bytes
            ids.append(np.frombuffer(raw[off:off + n_ids], dtype=self.id_dtype).reshape(w, k))
            lps.append(np.frombuffer(raw[off + n_ids:off + self.window_bytes],
                                     dtype=np.float16).reshape(w, k + 1))
        ids = torch.from_numpy(np.stack(ids).astype(np.int64) & 0xFFFF
                               if self.id_dtype == np.int16 else np.stack(ids).astype(np.int64))
        lps = torch.from_numpy(np.stack(lps).astype(np.float32))
        return ids, lps[..., :k], lps[..., k:]


def topk_kd(s_logits_flat, idx, top, rest, T, V):
    """kdnas's DistillationLoss on top-k targets (workers/teacher_cache.cc)."""
    k = idx.shape[-1]
    s_logp = F.log_softmax(s_logits_flat / T, -1)
    others = max(1, V - k)
    t_rest = (rest.reshape(-1, 1) - math.log(others)) / T + math.log(others)
    t_all = F.log_softmax(torch.cat([top.reshape(-1, k) / T, t_rest], -1), -1)
    s_top = s_logp.gather(1, idx.reshape(-1, k))
    s_rest = torch.log1p(-s_top.exp().sum(-1, keepdim=True).clamp_max(1.0 - 1e-6))
    s_all = torch.cat([s_top, s_rest], -1)
    return F.kl_div(s_all, t_all, reduction="sum", log_target=True) / s_logits_flat.shape[0]


class Peer:
    def setup(self, c):
        d = c["dir"]
        torch.set_num_threads(c["threads"])
        self.B, self.C, self.steps, self.bos = c["batch"], c["context"], c["steps"], c["bos"]
        self.mode = c["mode"]
        self.train = torch.from_numpy(np.fromfile(d + "/train_tokens.bin", dtype=np.int64))
        self.val = torch.from_numpy(np.fromfile(d + "/val_tokens.bin", dtype=np.int64))
        self.starts = torch.from_numpy(
            np.fromfile(d + "/batch_starts.bin", dtype=np.int64)).view(self.steps, self.B)
        self.eval_starts = torch.from_numpy(np.fromfile(d + "/eval_starts.bin", dtype=np.int64))
        self.offsets = torch.arange(self.C + 1)
        if self.mode == "eager":
            self.teacher = load_llama(c["teacher_dir"], self.C)
            self.teacher.eval()
        else:
            self.shard = Shard(c["shard"])
        return {"ok": True}

    def windows(self, tokens, starts):
        """kdnas's MakeBatch: x, y [B, C]; with BOS, y is the window and x BOS + y[:-1]."""
        w = tokens[starts.unsqueeze(1) + self.offsets]
        if self.bos >= 0:
            y = w[:, : self.C]
            x = torch.cat([torch.full((w.shape[0], 1), self.bos, dtype=torch.int64),
                           w[:, : self.C - 1]], 1)
            return x, y
        return w[:, : self.C], w[:, 1:]

    def student(self, s):
        self.model = load_llama(s["init"], self.C)
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                      {"params": no_decay, "weight_decay": 0.0}],
                                     lr=1e-3, betas=(0.9, 0.99))
        self.T, self.alpha = s["temperature"], s["alpha"]
        self.step = 0
        self.model.train()
        return {"ok": True}

    def run(self, n):
        model, opt, T, alpha = self.model, self.opt, self.T, self.alpha
        warmup = min(100, self.steps // 10)
        t0 = time.perf_counter()
        for _ in range(n):
            for g in opt.param_groups:
                g["lr"] = lr_at(self.step, self.steps, 1e-3, warmup)
            starts = self.starts[self.step]
            x, y = self.windows(self.train, starts)
            if self.mode == "eager":
                with torch.no_grad():
                    t_logits = self.teacher(x)
            else:
                idx, top, rest = self.shard.targets(self.step, starts)
            logits = model(x)
            V = logits.size(-1)
            flat = logits.view(-1, V)
            ce = F.cross_entropy(flat, y.reshape(-1))
            if self.mode == "eager":
                kd = F.kl_div(F.log_softmax(flat / T, -1),
                              F.log_softmax(t_logits.view(-1, V) / T, -1),
                              reduction="batchmean", log_target=True)
            else:
                kd = topk_kd(flat, idx, top, rest, T, V)
            loss = alpha * T * T * kd + (1 - alpha) * ce
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            loss.item()
            self.step += 1
        return {"seconds": time.perf_counter() - t0}

    def evaluate(self):
        self.model.eval()
        with torch.no_grad():
            total, n = 0.0, 0
            for i in range(0, self.eval_starts.numel(), 32):
                x, y = self.windows(self.val, self.eval_starts[i:i + 32])
                lg = self.model(x)
                total += F.cross_entropy(lg.reshape(-1, lg.size(-1)), y.reshape(-1),
                                         reduction="sum").item()
                n += y.numel()
        self.model.train()
        return {"val_loss": total / n}


def main():
    serve(Peer(), "hf_teacher_torch")


if __name__ == "__main__":
    main()
