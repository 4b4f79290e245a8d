#!/usr/bin/env python3
"""PyTorch reference of capsrun's CapsNet (Sabour et al. 2017).

A benchmark peer and a correctness reference only: capsrun never depends on
it. Same layout as capsrun: primary capsule i = (type*H + y)*W + x with
channel type*8 + k as its dimension k; W is (I, J, 16, 8); routing softmax
over the parents j; squash with eps inside the square root.

  capsnet_torch.py reference IN.tensors OUT.tensors
      reads parameters ("1.weight", "1.bias", "3.conv.weight", "3.conv.bias",
      "4.weight"), "input" (b, c, h, w), "labels" (b), "iters" (1) and
      optionally "stride" (1) from a capsrun tensor file (the architecture
      follows from the shapes), runs one forward and backward of the margin loss
      in float64, and writes "v", "lengths", "loss" and "grad.<name>".

  capsnet_torch.py bench [THREADS [BATCHES [STEPS]]]
      training and inference throughput of the same model with the decoder,
      float32, e.g. bench 2 32,64,128 5 (bench/compare.sh runs both sides).
"""
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-8


def read_tensors(path):
    """capsrun tensor file (docs/checkpoint-format.md) -> {name: array or bytes}"""
    with open(path, "rb") as f:
        buf = f.read()
    assert buf[:8] == b"CAPSTNS1", "not a capsrun tensor file"
    version, count, hbytes = struct.unpack_from("<III", buf, 8)
    assert version == 2, "unsupported version %d" % version
    header = buf[20:20 + hbytes]
    (crc,) = struct.unpack_from("<I", buf, 20 + hbytes)
    assert zlib.crc32(header, zlib.crc32(buf[12:20])) == crc, "header checksum mismatch"
    pos, entries = 0, []
    for _ in range(count):
        kind, nlen = struct.unpack_from("<BI", header, pos); pos += 5
        name = header[pos:pos + nlen].decode(); pos += nlen
        (ndim,) = struct.unpack_from("<I", header, pos); pos += 4
        shape = struct.unpack_from("<%dQ" % ndim, header, pos); pos += 8 * ndim
        (dcrc,) = struct.unpack_from("<I", header, pos); pos += 4
        entries.append((kind, name, shape, dcrc))
    out, pos = {}, 24 + hbytes
    for kind, name, shape, dcrc in entries:
        n = int(np.prod(shape)) if shape else 1
        size = 4 * n if kind == 0 else n
        raw = buf[pos:pos + size]; pos += size
        assert zlib.crc32(raw) == dcrc, "checksum mismatch in " + name
        out[name] = np.frombuffer(raw, dtype="<f4").reshape(shape).copy() if kind == 0 else raw
    return out


def write_tensors(path, tensors):
    """{name: float32 array} -> capsrun tensor file, entries sorted by name"""
    header, blobs = b"", []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        raw = a.tobytes()
        header += struct.pack("<BI", 0, len(name)) + name.encode() + struct.pack("<I", a.ndim)
        header += struct.pack("<%dQ" % a.ndim, *a.shape) + struct.pack("<I", zlib.crc32(raw))
        blobs.append(raw)
    top = struct.pack("<II", len(tensors), len(header))
    with open(path, "wb") as f:
        f.write(b"CAPSTNS1" + struct.pack("<I", 2) + top + header)
        f.write(struct.pack("<I", zlib.crc32(header, zlib.crc32(top))))
        for raw in blobs:
            f.write(raw)


def squash(s):
    q = (s * s).sum(-1, keepdim=True)
    return q / (1 + q) * s / torch.sqrt(q + EPS)


class CapsNet(nn.Module):
    def __init__(self, classes=10, iters=3, types=32, pdim=8, ddim=16, in_caps=1152,
                 in_ch=1, conv_ch=256, k1=9, k2=9, stride=2):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, conv_ch, k1)
        self.primary = nn.Conv2d(conv_ch, types * pdim, k2, stride=stride)
        self.W = nn.Parameter(0.01 * torch.randn(in_caps, classes, ddim, pdim))
        self.types, self.pdim, self.iters = types, pdim, iters

    def forward(self, x):
        h = F.relu(self.conv1(x))                                  # (b, 256, 20, 20)
        p = self.primary(h)                                        # (b, 256, 6, 6)
        b, _, hh, ww = p.shape
        u = p.view(b, self.types, self.pdim, hh * ww).permute(0, 1, 3, 2)
        u = squash(u.reshape(b, self.types * hh * ww, self.pdim))  # (b, 1152, 8)
        uhat = torch.einsum("ijdk,bik->bijd", self.W, u)           # (b, 1152, 10, 16)
        logits = torch.zeros(uhat.shape[:3], dtype=uhat.dtype)
        for r in range(self.iters):
            c = F.softmax(logits, dim=2)                           # over the parents
            v = squash((c.unsqueeze(-1) * uhat).sum(1))            # (b, 10, 16)
            if r + 1 < self.iters:
                logits = logits + (uhat * v.unsqueeze(1)).sum(-1)
        return v


def margin_loss(lengths, labels, m_plus=0.9, m_minus=0.1, lam=0.5):
    t = F.one_hot(labels, lengths.shape[1]).to(lengths.dtype)
    per = t * F.relu(m_plus - lengths) ** 2 + lam * (1 - t) * F.relu(lengths - m_minus) ** 2
    return per.sum(1).mean()


NAMES = {"1.weight": "conv1.weight", "1.bias": "conv1.bias", "3.conv.weight": "primary.weight",
         "3.conv.bias": "primary.bias", "4.weight": "W"}


def reference(inp, outp):
    t = read_tensors(inp)
    x = torch.from_numpy(t["input"]).double()
    labels = torch.from_numpy(t["labels"]).long()
    w, c1, pw = t["4.weight"], t["1.weight"], t["3.conv.weight"]
    stride = int(t["stride"][0]) if "stride" in t else 2
    model = CapsNet(classes=w.shape[1], iters=int(t["iters"][0]), in_caps=w.shape[0],
                    types=pw.shape[0] // w.shape[3], pdim=w.shape[3], ddim=w.shape[2],
                    in_ch=c1.shape[1], conv_ch=c1.shape[0], k1=c1.shape[2], k2=pw.shape[2],
                    stride=stride).double()
    params = dict(model.named_parameters())
    with torch.no_grad():
        for ours, theirs in NAMES.items():
            params[theirs].copy_(torch.from_numpy(t[ours]))
    v = model(x)
    lengths = torch.sqrt((v * v).sum(-1) + EPS)
    loss = margin_loss(lengths, labels)
    loss.backward()
    out = {"v": v.detach().numpy(), "lengths": lengths.detach().numpy(),
           "loss": np.array([loss.item()])}
    for ours, theirs in NAMES.items():
        out["grad." + ours] = params[theirs].grad.numpy()
    write_tensors(outp, out)


class Decoder(nn.Module):
    def __init__(self, classes=10, dim=16, pixels=784):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(classes * dim, 512), nn.ReLU(), nn.Linear(512, 1024), nn.ReLU(),
                                 nn.Linear(1024, pixels), nn.Sigmoid())

    def forward(self, v, labels):
        mask = F.one_hot(labels, v.shape[1]).to(v.dtype).unsqueeze(-1)
        return self.net((v * mask).flatten(1))


def bench(threads, batches, steps):
    """Training and inference throughput of CapsNet + decoder, float32,
    timed as bench/bench.lua times capsrun: one warm-up step, then `steps`."""
    import time
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model, dec = CapsNet(), Decoder()
    opt = torch.optim.Adam(list(model.parameters()) + list(dec.parameters()), lr=1e-3)
    print("pytorch %s: %d threads, CapsNet + decoder, 3 routing iterations" % (torch.__version__, threads))
    for b in batches:
        x = torch.rand(b, 1, 28, 28)
        y = torch.arange(b) % 10

        def step():
            opt.zero_grad()
            v = model(x)
            lengths = torch.sqrt((v * v).sum(-1) + EPS)
            recon = dec(v, y)
            loss = margin_loss(lengths, y) + 0.0005 * ((recon - x.flatten(1)) ** 2).sum(1).mean()
            loss.backward()
            opt.step()

        step()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        train = b * steps / (time.perf_counter() - t0)
        with torch.no_grad():
            t0 = time.perf_counter()
            for _ in range(steps):
                v = model(x)
                dec(v, ((v * v).sum(-1)).argmax(1))
            infer = b * steps / (time.perf_counter() - t0)
        print("batch %3d: train %.1f images/s, inference %.1f images/s" % (b, train, infer))
        sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 2 and sys.argv[1] == "bench":
        threads = int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads()
        batches = [int(b) for b in (sys.argv[3] if len(sys.argv) > 3 else "32,64,128").split(",")]
        steps = int(sys.argv[4]) if len(sys.argv) > 4 else 5
        bench(threads, batches, steps)
    else:
        sys.exit(__doc__)
