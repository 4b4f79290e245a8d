"""Exact t-SNE in PyTorch, float64, written from van der Maaten's reference
tsne.py (perplexity bisection, symmetrised P floored at 1e-12, Student-t Q,
momentum 0.5 then 0.8, gains +0.2 / x0.8 floored at 0.01, early
exaggeration, centring after each step), for spec/tsne_spec.lua: reads x
(N, D), y0 (N, m) and settings (perplexity, iterations, learning rate,
exaggeration, exaggeration iterations); writes P, y and kl.

    python3 bench/tsne_torch.py IN.tensors OUT.tensors
"""
import math
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from capsnet_torch import read_tensors, write_tensors  # noqa: E402


def affinities(x, perplexity):
    n = x.shape[0]
    d = torch.cdist(x, x) ** 2
    P = torch.zeros(n, n, dtype=torch.float64)
    target = math.log(perplexity)
    for i in range(n):
        di = torch.cat([d[i, :i], d[i, i + 1:]])
        di = di - di.min()
        beta, lo, hi = 1.0, -math.inf, math.inf
        for _ in range(100):
            p = torch.exp(-di * beta)
            h = math.log(p.sum()) + beta * float((di * p).sum() / p.sum())
            if abs(h - target) < 1e-5:
                break
            if h > target:
                lo = beta
                beta = beta * 2 if math.isinf(hi) else (beta + hi) / 2
            else:
                hi = beta
                beta = beta / 2 if math.isinf(lo) else (beta + lo) / 2
        p = torch.exp(-di * beta)
        p = p / p.sum()
        P[i, :i], P[i, i + 1:] = p[:i], p[i:]
    P = (P + P.T) / (2 * n)
    P = torch.clamp(P, min=1e-12)
    P.fill_diagonal_(0)
    return P


def embed(P, y, iterations, lr, exaggeration, exag_iters):
    n, m = y.shape
    update, gains = torch.zeros(n, m, dtype=torch.float64), torch.ones(n, m, dtype=torch.float64)
    for it in range(iterations):
        early = it < exag_iters
        num = 1 / (1 + torch.cdist(y, y) ** 2)
        num.fill_diagonal_(0)
        q = num / num.sum()
        pe = P * (exaggeration if early else 1.0)
        grad = 4 * (((pe - q) * num).unsqueeze(2) * (y.unsqueeze(1) - y.unsqueeze(0))).sum(1)
        gains = torch.where((grad > 0) != (update > 0), gains + 0.2, gains * 0.8).clamp(min=0.01)
        update = (0.5 if early else 0.8) * update - lr * gains * grad
        y = y + update
        y = y - y.mean(0)
    num = 1 / (1 + torch.cdist(y, y) ** 2)
    num.fill_diagonal_(0)
    q = (num / num.sum()).clamp(min=1e-300)
    off = ~torch.eye(n, dtype=torch.bool)
    kl = (P[off] * torch.log(P[off] / q[off])).sum()
    return y, kl


def main(inp, outp):
    t = read_tensors(inp)
    x = torch.tensor(t["x"], dtype=torch.float64)
    y0 = torch.tensor(t["y0"], dtype=torch.float64)
    perplexity, iterations, lr, exaggeration, exag_iters = (float(v) for v in t["settings"])
    P = affinities(x, perplexity)
    y, kl = embed(P, y0, int(iterations), lr, exaggeration, int(exag_iters))
    write_tensors(outp, {"P": P.numpy(), "y": y.numpy(), "kl": torch.tensor([float(kl)]).numpy()})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
