#!/usr/bin/env python3
"""PyTorch CPU side of tests/bench/bench_train.cpp: training tokens/s of a Llama model of a given shape
(float32, eager mode), the same step Precis's Trainer takes: forward, cross-entropy on the next token,
backward, global gradient-norm clip at 1, AdamW (betas 0.9/0.95, weight decay 0.1 on matrices).

Written from the Llama definition (as tests/fixtures/make_train_fixture.py): RMSNorm, RoPE on adjacent
pairs, causal grouped-query attention scaled by 1/sqrt(head_dim) (explicit softmax: torch 1.13 has no
fused attention), SwiGLU, untied classifier. Prints one JSON line:
{"tokens_per_s": ..., "tokens_per_cpu_s": ..., "steps", "seconds", "cpu_seconds", "threads", "torch"}
(tokens per second of wall time, and per second of the process's CPU time: on a loaded machine the
second is the fair one with --threads 1).

Run by bench_train (or by hand):
  /work/venv/bin/python tests/bench/bench_train_torch.py --dim 160 --hidden 448 --layers 4 --heads 4 \
      --kv 2 --vocab 512 --batch 8 --ctx 128 --steps 10 --threads 2
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


class Llama(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        d, h, kvd = a.dim, a.hidden, a.kv * (a.dim // a.heads)
        self.emb = torch.nn.Parameter(torch.randn(a.vocab, d) * 0.02)
        self.layers = torch.nn.ModuleList()
        for _ in range(a.layers):
            m = torch.nn.Module()
            m.n1 = torch.nn.Parameter(torch.ones(d))
            m.q = torch.nn.Linear(d, d, bias=False)
            m.k = torch.nn.Linear(d, kvd, bias=False)
            m.v = torch.nn.Linear(d, kvd, bias=False)
            m.o = torch.nn.Linear(d, d, bias=False)
            m.n2 = torch.nn.Parameter(torch.ones(d))
            m.g = torch.nn.Linear(d, h, bias=False)
            m.u = torch.nn.Linear(d, h, bias=False)
            m.dn = torch.nn.Linear(h, d, bias=False)
            self.layers.append(m)
        self.nf = torch.nn.Parameter(torch.ones(d))
        self.out = torch.nn.Linear(d, a.vocab, bias=False)
        hd = d // a.heads
        i = torch.arange(hd // 2, dtype=torch.float32)
        ang = torch.arange(a.ctx, dtype=torch.float32)[:, None] / (10000.0 ** (2 * i / hd))[None, :]
        self.register_buffer("cos", torch.cos(ang)[None, :, None, :])
        self.register_buffer("sin", torch.sin(ang)[None, :, None, :])
        self.register_buffer("mask", torch.triu(torch.ones(a.ctx, a.ctx, dtype=torch.bool), 1))

    @staticmethod
    def rms(x, w):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-5) * w

    def rope(self, x):
        B, T, H, hd = x.shape
        a, b = x[..., 0::2], x[..., 1::2]
        c, s = self.cos[:, :T], self.sin[:, :T]
        return torch.stack([a * c - b * s, a * s + b * c], dim=-1).reshape(B, T, H, hd)

    def forward(self, tokens):
        a = self.a
        B, T = tokens.shape
        H, KV, hd = a.heads, a.kv, a.dim // a.heads
        x = self.emb[tokens]
        for m in self.layers:
            h = self.rms(x, m.n1)
            q = self.rope(m.q(h).view(B, T, H, hd)).transpose(1, 2)
            k = self.rope(m.k(h).view(B, T, KV, hd)).transpose(1, 2).repeat_interleave(H // KV, dim=1)
            v = m.v(h).view(B, T, KV, hd).transpose(1, 2).repeat_interleave(H // KV, dim=1)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            att = att.masked_fill(self.mask[:T, :T], float("-inf")).softmax(-1)
            x = x + m.o((att @ v).transpose(1, 2).reshape(B, T, a.dim))
            h = self.rms(x, m.n2)
            x = x + m.dn(F.silu(m.g(h)) * m.u(h))
        return self.out(self.rms(x, self.nf))


def main():
    p = argparse.ArgumentParser()
    for k, v in [("dim", 160), ("hidden", 448), ("layers", 4), ("heads", 4), ("kv", 2), ("vocab", 512),
                 ("batch", 8), ("ctx", 128), ("steps", 10), ("warmup", 2), ("threads", 2), ("seed", 1)]:
        p.add_argument("--" + k, type=int, default=v)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    model = Llama(a)
    decay = [q for q in model.parameters() if q.dim() >= 2]
    nodecay = [q for q in model.parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    data = torch.randint(0, a.vocab, (a.batch, a.ctx + 1))

    def step():
        opt.zero_grad(set_to_none=True)
        z = model(data[:, :-1])
        loss = F.cross_entropy(z.reshape(-1, a.vocab), data[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        step()
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    tokens = a.steps * a.batch * a.ctx
    print(json.dumps({"tokens_per_s": tokens / secs, "tokens_per_cpu_s": tokens / cpu, "steps": a.steps,
                      "seconds": secs, "cpu_seconds": cpu, "threads": torch.get_num_threads(),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
