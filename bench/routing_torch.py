"""The routings of capsrun.routing written in PyTorch: the reference for
spec/routing_torch_spec.lua (float64, on identical predictions and
parameters) and the peer of bench/routing_bench.lua (float32).

  python3 bench/routing_torch.py reference IN.tensors OUT.tensors
      IN: uhat (B, I, J, D), gv (B, J, D), iters (1), kind (1: 0 dynamic,
      1 dynamic with detach, 2 self-attention, 3 inverted dot-product) and the
      routing's parameters (bias; ln_weight, ln_bias). OUT: v, grad_uhat and
      grad_<parameter>, of sum(v * gv).
  python3 bench/routing_torch.py bench ROUTING THREADS BATCH STEPS
      milliseconds per forward + backward of one routing on (BATCH, 1152, 10, 16)
"""
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from capsnet_torch import read_tensors, squash, write_tensors  # noqa: E402

KINDS = ["dynamic", "dynamic-detach", "self-attention", "inverted-dot"]


def dynamic(uhat, iters, detach=False):
    """Sabour et al. 2017; detach: the earlier iterations see constant predictions (Keras CapsNet)"""
    b = torch.zeros(uhat.shape[:3], dtype=uhat.dtype)
    held = uhat.detach() if detach else uhat
    for r in range(iters):
        u = held if r < iters - 1 else uhat
        c = F.softmax(b, dim=2)
        v = squash((c.unsqueeze(-1) * u).sum(1))
        if r < iters - 1:
            b = b + (u * v.unsqueeze(1)).sum(-1)
    return v


def self_attention(uhat, bias):
    """Efficient-CapsNet's FCCaps, as its official code (u as (B, J, I, D))"""
    u = uhat.permute(0, 2, 1, 3)
    c = torch.einsum("...ij,...kj->...i", u, u)[..., None] / u.shape[-1] ** 0.5
    c = F.softmax(c, dim=1) + bias
    s = (u * c).sum(-2)
    n = s.norm(dim=-1, keepdim=True)
    return (1 - 1 / torch.exp(n)) * (s / (n + 1e-20))


def inverted_dot(uhat, iters, w, b):
    """Tsai et al. 2020: equal agreements first, then softmax over the parents of p_j . u_j|i / sqrt(D)"""
    d = uhat.shape[-1]
    pose = None
    for _ in range(iters):
        if pose is None:
            c = torch.full(uhat.shape[:3], 1.0 / uhat.shape[2], dtype=uhat.dtype)
        else:
            c = F.softmax((uhat * pose.unsqueeze(1)).sum(-1) / d ** 0.5, dim=2)
        s = (c.unsqueeze(-1) * uhat).sum(1)
        pose = F.layer_norm(s, (d,), w, b, eps=1e-5)
    return pose


def route(kind, uhat, iters, p):
    if kind == "dynamic":
        return dynamic(uhat, iters)
    if kind == "dynamic-detach":
        return dynamic(uhat, iters, detach=True)
    if kind == "self-attention":
        return self_attention(uhat, p["bias"])
    return inverted_dot(uhat, iters, p["ln_weight"], p["ln_bias"])


def reference(inp, outp):
    t = read_tensors(inp)
    kind = KINDS[int(t["kind"][0])]
    iters = int(t["iters"][0])
    uhat = torch.tensor(t["uhat"], dtype=torch.float64, requires_grad=True)
    p = {k: torch.tensor(t[k], dtype=torch.float64, requires_grad=True)
         for k in ("bias", "ln_weight", "ln_bias") if k in t}
    v = route(kind, uhat, iters, p)
    (v * torch.tensor(t["gv"], dtype=torch.float64)).sum().backward()
    out = {"v": v.detach().numpy(), "grad_uhat": uhat.grad.numpy()}
    for k, x in p.items():
        out["grad_" + k] = x.grad.numpy()
    write_tensors(outp, out)


def bench(kind, threads, batch, steps):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    I, J, D = 1152, 10, 16
    uhat = (torch.randn(batch, I, J, D) * 0.01).requires_grad_()
    p = {"bias": torch.zeros(J, I, 1, requires_grad=True), "ln_weight": torch.ones(D, requires_grad=True),
         "ln_bias": torch.zeros(D, requires_grad=True)}
    gv = torch.randn(batch, J, D)

    def step():
        uhat.grad = None
        (route(kind, uhat, 3, p) * gv).sum().backward()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    print("pytorch %s %s batch %d: %.2f ms per forward + backward" % (torch.__version__, kind, batch,
                                                                       1000 * (time.perf_counter() - t0) / steps))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "bench":
        bench(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)
