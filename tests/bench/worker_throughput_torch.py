"""PyTorch peer of the worker_throughput benchmark: a standard PyTorch 1.13
eager knowledge-distillation loop (nanoGPT-style model with a fused QKV
projection, the teacher's logits computed every step under no_grad, AdamW with
warm-up and cosine decay, gradient clipping), run on the same students, the
same initial weights, the same batches and the same thread count as kdnas.

Usage: worker_throughput_torch.py MANIFEST_JSON DIR  (prints one JSON object)
"""
import json
import math
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


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
        x = x + self.mlp.proj(F.gelu(self.mlp.fc(self.ln2(x))))
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


def main():
    manifest = json.load(open(sys.argv[1]))
    d = sys.argv[2]
    torch.set_num_threads(manifest["threads"])
    B, C, steps = manifest["batch"], manifest["context"], manifest["steps"]
    train = torch.from_numpy(np.fromfile(d + "/train_tokens.bin", dtype=np.int64))
    val = torch.from_numpy(np.fromfile(d + "/val_tokens.bin", dtype=np.int64))
    starts = torch.from_numpy(np.fromfile(d + "/batch_starts.bin", dtype=np.int64)).view(steps, B)
    eval_starts = torch.from_numpy(np.fromfile(d + "/eval_starts.bin", dtype=np.int64))
    offsets = torch.arange(C + 1)

    teacher_script = torch.jit.load(manifest["teacher"])
    tp = dict(teacher_script.named_parameters())
    vocab, td = tp["tok_emb"].shape
    t_layers = sum(1 for n in tp if n.endswith("_ln1_weight"))
    t_heads = json.loads(_extra(manifest["teacher"], "kdnas/architecture.json"))["num_heads"]
    t_ff = tp["layers_0_mlp_fc_weight"].shape[0]
    t_ctx = tp["pos_emb"].shape[0]
    teacher = GPT(vocab, t_layers, td, t_heads, t_ff, t_ctx)
    load_from_script(teacher, manifest["teacher"])
    teacher.eval()

    results = []
    for s in manifest["students"]:
        model = GPT(vocab, s["layers"], s["d_model"], s["heads"], s["d_ff"], C)
        load_from_script(model, s["init"])
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
        T, alpha = s["temperature"], s["alpha"]
        warmup = min(100, steps // 10)
        model.train()
        t0 = time.perf_counter()
        step_seconds = []
        for step in range(steps):
            t_step = time.perf_counter()
            for g in opt.param_groups:
                g["lr"] = lr_at(step, steps, 1e-3, warmup)
            w = train[starts[step].unsqueeze(1) + offsets]
            x, y = w[:, :C], w[:, 1:]
            with torch.no_grad():
                t_logits = teacher(x)
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
            step_seconds.append(time.perf_counter() - t_step)
        seconds = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            ew = val[eval_starts.unsqueeze(1) + offsets]
            total, n = 0.0, 0
            for i in range(0, ew.size(0), 32):
                xb, yb = ew[i:i + 32, :C], ew[i:i + 32, 1:]
                lg = model(xb)
                total += F.cross_entropy(lg.reshape(-1, lg.size(-1)), yb.reshape(-1), reduction="sum").item()
                n += yb.numel()
        results.append({"name": s["name"], "train_seconds": seconds, "tokens": steps * B * C, "val_loss": total / n,
                        "median_step_seconds": sorted(step_seconds)[len(step_seconds) // 2]})
        print("torch %-16s %7.0f tok/s  val %.4f" % (s["name"], steps * B * C / seconds, total / n), file=sys.stderr)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "peak_rss_mb": rss_mb,
                      "students": results}))


def _extra(path, name):
    files = {name: ""}
    torch.jit.load(path, _extra_files=files)
    return files[name]


if __name__ == "__main__":
    main()
