"""Loads a kdnas student (or teacher) TorchScript file in plain PyTorch and
samples text from it, decoding with the tokenizer stored inside the file.

    /usr/bin/python3 deploy/load_student.py student.pt [--tokens 200] [--prompt "ROMEO:"]
"""
import argparse
import json
import struct

import torch


def read_tokenizer(blob):
    """The serialized tokenizer (docs/artifact-format.md, "Tokenizer")."""
    kind = blob[0]
    (vocab,) = struct.unpack_from("<I", blob, 1)
    if kind == 1:
        return [bytes([i]) for i in range(256)]
    symbols, pos = [], 5
    for _ in range(vocab):
        n = blob[pos]
        symbols.append(blob[pos + 1:pos + 1 + n])
        pos += 1 + n
    return symbols


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--prompt", default="\n")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    extra = {"kdnas/tokenizer.bin": "", "kdnas/architecture.json": ""}
    model = torch.jit.load(args.model, _extra_files=extra)
    model.eval()
    symbols = read_tokenizer(extra["kdnas/tokenizer.bin"] if isinstance(extra["kdnas/tokenizer.bin"], bytes)
                             else extra["kdnas/tokenizer.bin"].encode("latin-1"))
    arch = json.loads(extra["kdnas/architecture.json"] or "{}")
    context = int(arch.get("context_length", 64))
    ids_of = {s: i for i, s in enumerate(symbols)}
    prompt = [ids_of[ch.encode("utf-8")] for ch in args.prompt if ch.encode("utf-8") in ids_of] or [0]
    params = sum(p.numel() for p in model.parameters())
    print(f"loaded {args.model} with torch {torch.__version__}: {params} parameters, vocabulary {len(symbols)}, "
          f"context {context}")
    torch.manual_seed(args.seed)
    ids = torch.tensor([prompt], dtype=torch.int64)
    with torch.no_grad():
        for _ in range(args.tokens):
            logits = model(ids[:, -context:])[0, -1] / args.temperature
            nxt = torch.multinomial(torch.softmax(logits, dim=-1), 1)
            ids = torch.cat([ids, nxt.view(1, 1)], dim=1)
    text = b"".join(symbols[i] for i in ids[0].tolist()).decode("utf-8", errors="replace")
    print("--- sample ---")
    print(text)


if __name__ == "__main__":
    main()
