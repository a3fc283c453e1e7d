"""PyTorch peer of the worker_throughput benchmark: a standard PyTorch 1.13
eager knowledge-distillation loop (nanoGPT-style model with a fused QKV
projection, the teacher's logits computed every step under no_grad, AdamW with
warm-up and cosine decay, gradient clipping), run on the same students, the
same initial weights, the same batches and the same thread count as kdnas.

Run by worker_throughput_bench (see Peer below), not by hand.
"""
import json
import os
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_protocol import serve  # noqa: E402


class Block(nn.Module):
    def __init__(self, d, heads, d_ff):
        super().__init__()
        self.heads = heads
        self.head_dim = d // heads
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(d, 3 * d)
        self.attn.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Module()
        self.mlp.fc = nn.Linear(d, d_ff)
        self.mlp.proj = nn.Linear(d_ff, d)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.attn.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, T, self.heads, self.head_dim).transpose(1, 2)
        k = k.view(B, T, self.heads, self.head_dim).transpose(1, 2)
        v = v.view(B, T, self.heads, self.head_dim).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        att = att.masked_fill(mask[:T, :T], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.attn.proj(y)
        x = x + self.mlp.proj(F.gelu(self.mlp.fc(self.ln2(x)), approximate="tanh"))
        return x


class GPT(nn.Module):
    def __init__(self, vocab, layers, d, heads, d_ff, context):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d)
        self.pos_emb = nn.Embedding(context, d)
        self.layers = nn.ModuleList([Block(d, heads, d_ff) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.register_buffer("mask", torch.triu(torch.ones(context, context, dtype=torch.bool), 1))

    def forward(self, idx):
        T = idx.size(1)
        x = self.tok_emb(idx) + self.pos_emb.weight[:T]
        for block in self.layers:
            x = block(x, self.mask)
        return self.lm_head(self.ln_f(x))


def script_name(name):
    """Name of a parameter in the kdnas TorchScript files."""
    if name in ("tok_emb.weight", "pos_emb.weight"):
        return name.split(".")[0]
    return name.replace(".", "_")


def load_from_script(model, path):
    script = dict(torch.jit.load(path).named_parameters())
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(script[script_name(name)])


def lr_at(step, steps, peak, warmup, min_ratio=0.1):
    if step < warmup:
        return peak * (step + 1) / (warmup + 1)
    p = min(1.0, max(0.0, (step - warmup) / max(1, steps - warmup)))
    low = peak * min_ratio
    return low + 0.5 * (1.0 + math.cos(math.pi * p)) * (peak - low)


class Peer:
    """The PyTorch side, driven over stdin/stdout by worker_throughput_bench so
    that both sides train in alternating chunks of steps and meet the same
    background load. One JSON reply per command line:
      setup {"dir", "teacher", "threads", "batch", "context", "steps"}
      student {"name", "layers", "d_model", "heads", "d_ff", "temperature", "alpha", "init"}
      run N        -> {"seconds": s}  (time spent in the next N training steps)
      eval         -> {"val_loss": v}
      rss          -> {"peak_rss_mb": m, "torch": version, "threads": n}
    """

    def setup(self, c):
        d = c["dir"]
        torch.set_num_threads(c["threads"])
        self.B, self.C, self.steps = c["batch"], c["context"], c["steps"]
        self.train = torch.from_numpy(np.fromfile(d + "/train_tokens.bin", dtype=np.int64))
        self.val = torch.from_numpy(np.fromfile(d + "/val_tokens.bin", dtype=np.int64))
        self.starts = torch.from_numpy(np.fromfile(d + "/batch_starts.bin", dtype=np.int64)).view(self.steps, self.B)
        self.eval_starts = torch.from_numpy(np.fromfile(d + "/eval_starts.bin", dtype=np.int64))
        self.offsets = torch.arange(self.C + 1)
        tp = dict(torch.jit.load(c["teacher"]).named_parameters())
        self.vocab, td = tp["tok_emb"].shape
        t_layers = sum(1 for n in tp if n.endswith("_ln1_weight"))
        t_heads = json.loads(_extra(c["teacher"], "kdnas/architecture.json"))["num_heads"]
        self.teacher = GPT(self.vocab, t_layers, td, t_heads, tp["layers_0_mlp_fc_weight"].shape[0],
                           tp["pos_emb"].shape[0])
        load_from_script(self.teacher, c["teacher"])
        self.teacher.eval()
        return {"ok": True}

    def student(self, s):
        self.model = GPT(self.vocab, s["layers"], s["d_model"], s["heads"], s["d_ff"], self.C)
        load_from_script(self.model, s["init"])
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                      {"params": no_decay, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
        self.T, self.alpha = s["temperature"], s["alpha"]
        self.step = 0
        self.model.train()
        return {"ok": True}

    def run(self, n):
        model, opt, T, alpha, C = self.model, self.opt, self.T, self.alpha, self.C
        warmup = min(100, self.steps // 10)
        t0 = time.perf_counter()
        for _ in range(n):
            for g in opt.param_groups:
                g["lr"] = lr_at(self.step, self.steps, 1e-3, warmup)
            w = self.train[self.starts[self.step].unsqueeze(1) + self.offsets]
            x, y = w[:, :C], w[:, 1:]
            with torch.no_grad():
                t_logits = self.teacher(x)
            logits = model(x)
            V = logits.size(-1)
            ce = F.cross_entropy(logits.view(-1, V), y.reshape(-1))
            kd = F.kl_div(F.log_softmax(logits.view(-1, V) / T, -1), F.log_softmax(t_logits.view(-1, V) / T, -1),
                          reduction="batchmean", log_target=True)
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
        C = self.C
        with torch.no_grad():
            ew = self.val[self.eval_starts.unsqueeze(1) + self.offsets]
            total, n = 0.0, 0
            for i in range(0, ew.size(0), 32):
                xb, yb = ew[i:i + 32, :C], ew[i:i + 32, 1:]
                lg = self.model(xb)
                total += F.cross_entropy(lg.reshape(-1, lg.size(-1)), yb.reshape(-1), reduction="sum").item()
                n += yb.numel()
        return {"val_loss": total / n}


def main():
    serve(Peer(), "worker_throughput_torch")


def _extra(path, name):
    files = {name: ""}
    torch.jit.load(path, _extra_files=files)
    return files[name]


if __name__ == "__main__":
    main()
