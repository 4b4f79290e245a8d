#!/usr/bin/env python3
"""PyTorch reference of capsrun's MatrixCapsNet (Hinton, Sabour & Frosst 2018).

A correctness reference and a benchmark peer only: capsrun never depends on
it. Written independently of the C kernels, as dense tensor algebra with
autograd: each layer gathers its patch entries with an index table, the
E-step's softmax over every parent a child votes for (at all positions) is
a scatter log-sum-exp over children. Layout as capsrun's: a capsule grid
is (b, T, H, W, 17), a 4x4 pose (row-major) then the activation; patch
entry n = (ky*kw + kx)*T + t; votes V = M W.

  matcaps_torch.py reference IN.tensors OUT.tensors
      reads the parameters ("1.weight", "1.bias", "3.pose.*",
      "3.activation.*", "4.*", "5.*", "6.*"), "input", "labels", and
      "settings" (iters, conv stride, final lambda, var eps, margin) from a
      capsrun tensor file, runs one forward and backward of the spread loss
      in float64, writes "out" (b, classes, 1, 1, 17), "loss", "grad.<name>".

  matcaps_torch.py bench [THREADS [BATCHES [STEPS]]]
      training throughput of the small model (A=64, B=8, C=D=16, 3
      iterations) on 28x28 images in float32 (bench/compare.sh --em).
"""
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

from capsnet_torch import read_tensors, write_tensors


def patch_tables(T, H, W, kh, kw, stride):
    """child index (P, N) and weight block (N,) of every patch entry"""
    OH, OW = (H - kh) // stride + 1, (W - kw) // stride + 1
    child = torch.empty(OH * OW, kh * kw * T, dtype=torch.long)
    for oy in range(OH):
        for ox in range(OW):
            for ky in range(kh):
                for kx in range(kw):
                    for t in range(T):
                        y, x = oy * stride + ky, ox * stride + kx
                        child[oy * OW + ox, (ky * kw + kx) * T + t] = (t * H + y) * W + x
    return child, OH, OW


def em_layer(caps, weight, beta_a, beta_v, kh, kw, stride, shared, coord_add, iters, final_lambda, var_eps):
    B, T, H, W, _ = caps.shape
    J = weight.shape[1]
    child, OH, OW = patch_tables(T, H, W, kh, kw, stride)
    P, N = child.shape
    C = T * H * W
    flat = caps.reshape(B, C, 17)
    M = flat[:, child, :16].reshape(B, P, N, 4, 4)
    a = flat[:, child, 16]                                       # (B, P, N)
    block = torch.arange(N) % T if shared else torch.arange(N)
    V = torch.einsum("bpnrk,njkc->bpnjrc", M, weight[block]).reshape(B, P, N, J, 16)
    if coord_add:
        pos = child % (H * W)
        row = ((pos // W).to(V.dtype) + 0.5) / H
        col = ((pos % W).to(V.dtype) + 0.5) / W
        add = torch.zeros(P, N, 1, 16, dtype=V.dtype)
        add[..., 3], add[..., 7] = row[..., None], col[..., None]
        V = V + add
    gid = child.reshape(-1)
    count = torch.zeros(C, dtype=V.dtype).index_add_(0, gid, torch.ones(P * N, dtype=V.dtype))
    R = (1.0 / (count[child] * J))[None, :, :, None].expand(B, P, N, J)
    kappa = P * J / C
    for t in range(iters):
        lam = final_lambda * (1 - 0.95 ** (t + 1))
        r = R * a[..., None]                                     # (B, P, N, J)
        S = r.sum(2)                                             # (B, P, J)
        mu = (r[..., None] * V).sum(2) / S[..., None]            # (B, P, J, 16)
        var = (r[..., None] * (V - mu[:, :, None]) ** 2).sum(2) / S[..., None] + var_eps
        cost = (beta_v[None, None, :, None] + 0.5 * torch.log(var)).sum(-1) * S * kappa
        x = lam * (beta_a - cost)                                # (B, P, J)
        if t + 1 < iters:
            L = F.logsigmoid(x)[:, :, None, :] - 0.5 * (
                (V - mu[:, :, None]) ** 2 / var[:, :, None] + torch.log(2 * math.pi * var[:, :, None])).sum(-1)
            Lf = L.reshape(B, P * N, J)
            top = torch.full((B, C), -math.inf, dtype=V.dtype).scatter_reduce(
                1, gid.expand(B, -1), Lf.detach().amax(-1), "amax")
            e = torch.exp(Lf - top[:, gid, None])
            Z = torch.zeros(B, C, dtype=V.dtype).index_add(1, gid, e.sum(-1))
            R = (e / Z[:, gid, None]).reshape(B, P, N, J)
    out = torch.cat([mu, torch.sigmoid(x)[..., None]], -1)      # (B, P, J, 17)
    return out.permute(0, 2, 1, 3).reshape(B, J, OH, OW, 17)


class MatrixCapsNet(torch.nn.Module):
    def __init__(self, shapes, conv_stride, iters, final_lambda, var_eps):
        super().__init__()
        self.p = torch.nn.ParameterDict({k.replace(".", "_"): torch.nn.Parameter(torch.zeros(*s))
                                         for k, s in shapes.items()})
        self.conv_stride, self.iters, self.final_lambda, self.var_eps = conv_stride, iters, final_lambda, var_eps

    def layer(self, caps, name, kernel, stride, shared):
        p = self.p
        kh, kw = (caps.shape[2], caps.shape[3]) if shared else (kernel, kernel)
        return em_layer(caps, p[name + "_weight"], p[name + "_beta_a"], p[name + "_beta_v"], kh, kw, stride,
                        shared, shared, self.iters, self.final_lambda, self.var_eps)

    def forward(self, x):
        p = self.p
        h = F.relu(F.conv2d(x, p["1_weight"], p["1_bias"], stride=self.conv_stride))
        pose = F.conv2d(h, p["3_pose_weight"], p["3_pose_bias"])
        act = torch.sigmoid(F.conv2d(h, p["3_activation_weight"], p["3_activation_bias"]))
        B, T, Hh, W = act.shape
        pose = pose.reshape(B, T, 16, Hh, W).permute(0, 1, 3, 4, 2)
        caps = torch.cat([pose, act[..., None]], -1)            # (B, T, H, W, 17)
        caps = self.layer(caps, "4", 3, 2, False)
        caps = self.layer(caps, "5", 3, 1, False)
        return self.layer(caps, "6", None, 1, True)


def spread_loss(act, labels, margin):
    at = act.gather(1, labels[:, None])
    e = torch.clamp(margin - (at - act), min=0) ** 2
    e = e.scatter(1, labels[:, None], 0.0)
    return e.sum(1).mean()


def reference(inp, outp):
    t = read_tensors(inp)
    iters, conv_stride, final_lambda, var_eps, margin = t["settings"].tolist()
    names = [k for k in t if k[0].isdigit()]
    model = MatrixCapsNet({k: t[k].shape for k in names}, int(conv_stride), int(iters), final_lambda,
                          var_eps).double()
    with torch.no_grad():
        for k in names:
            model.p[k.replace(".", "_")].copy_(torch.from_numpy(t[k]))
    x = torch.from_numpy(t["input"]).double()
    labels = torch.from_numpy(t["labels"]).long()
    out = model(x)
    loss = spread_loss(out[..., 16].reshape(out.shape[0], -1), labels, margin)
    loss.backward()
    res = {"out": out.detach().numpy(), "loss": np.array([loss.item()])}
    for k in names:
        res["grad." + k] = model.p[k.replace(".", "_")].grad.numpy()
    write_tensors(outp, res)


def small_model_shapes(classes=10):
    return {"1.weight": (64, 1, 5, 5), "1.bias": (64,), "3.pose.weight": (128, 64, 1, 1), "3.pose.bias": (128,),
            "3.activation.weight": (8, 64, 1, 1), "3.activation.bias": (8,), "4.weight": (72, 16, 4, 4),
            "4.beta_a": (16,), "4.beta_v": (16,), "5.weight": (144, 16, 4, 4), "5.beta_a": (16,),
            "5.beta_v": (16,), "6.weight": (16, classes, 4, 4), "6.beta_a": (classes,), "6.beta_v": (classes,)}


def bench(threads, batches, steps):
    """training throughput, float32, timed as bench/bench.lua times capsrun"""
    import time
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = MatrixCapsNet(small_model_shapes(), 2, 3, 1.0, 1e-4)
    with torch.no_grad():
        for k, v in model.p.items():
            if "beta" not in k:
                v.normal_(0, 0.5 if k[0] in "456" else 0.1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    print("pytorch %s: %d threads, MatrixCapsNet A=64 B=8 C=D=16, 3 EM iterations" % (torch.__version__, threads))
    for b in batches:
        x = torch.rand(b, 1, 28, 28)
        y = torch.arange(b) % 10

        def step():
            opt.zero_grad()
            out = model(x)
            loss = spread_loss(out[..., 16].reshape(b, -1), y, 0.2)
            loss.backward()
            opt.step()

        step()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        print("batch %3d: train %.1f images/s" % (b, b * steps / (time.perf_counter() - t0)))
        sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 2 and sys.argv[1] == "bench":
        threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
        batches = [int(b) for b in sys.argv[3].split(",")] if len(sys.argv) > 3 else [32]
        bench(threads, batches, int(sys.argv[4]) if len(sys.argv) > 4 else 5)
    else:
        sys.exit(__doc__)
