"""The official SCAE SetTransformer (capsules/attention.py: SetTransformer,
SelfAttention, InducedSelfAttention, MultiHeadQKVAttention, QKVAttention)
written again in PyTorch, float64, with capsrun's parameter names, for
spec/scae_set_transformer_spec.lua: reads the input, presence, gradient of
the output and every parameter from a capsrun tensor file; writes the
output, the input's gradient and every parameter's gradient.

    python3 bench/set_transformer_torch.py IN.tensors OUT.tensors
"""
import math
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from capsnet_torch import read_tensors, write_tensors  # noqa: E402

MASKED = 1e9


def encode(p, x, presence, layers, heads, inducing, prefix=""):
    """The SetTransformer's output (B, outputs, out_dims); p: parameters by capsrun name."""
    B, N, _ = x.shape

    def linear(name, v):
        return v @ p[prefix + name + ".weight"] + p[prefix + name + ".bias"]

    def mha(name, q, k, v, mask):
        outs = []
        for h in range(1, heads + 1):
            pre = "%s.head%d." % (name, h)
            qh, kh, vh = linear(pre + "q", q), linear(pre + "k", k), linear(pre + "v", v)
            logits = qh @ kh.transpose(1, 2)
            if mask is not None:
                logits = logits - mask
            outs.append(torch.softmax(logits / math.sqrt(qh.shape[-1]), -1) @ vh)
        return linear(name + ".out", torch.cat(outs, -1))

    def layer_norm(name, v):
        mean = v.mean(-1, keepdim=True)
        var = ((v - mean) ** 2).mean(-1, keepdim=True)
        return (v - mean) / torch.sqrt(var + 1e-5) * p[prefix + name + ".gain"] + p[prefix + name + ".bias"]

    mask = ((1 - presence) * MASKED).view(B, 1, N)
    keep = presence.view(B, N, 1)
    h = linear("input", x)
    for l in range(1, layers + 1):
        name = "block%d" % l
        if inducing > 0:
            seeds = p[prefix + name + ".inducing"].unsqueeze(0).expand(B, -1, -1)
            z = mha(name + ".mha", seeds, h, h, mask)
            y = mha(name + ".mha", h, z, z, None)
        else:
            y = mha(name + ".mha", h, h, h, mask)
        y = layer_norm(name + ".ln1", (y + h) * keep)
        m = linear(name + ".mlp2", torch.relu(linear(name + ".mlp1", y)))
        h = layer_norm(name + ".ln2", m + y)
    z = linear("output", h)
    seeds = p[prefix + "seeds"].unsqueeze(0).expand(B, -1, -1)
    return mha("pool", seeds, z, z, mask)


def params_of(t):
    return {k[6:]: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in t.items() if k.startswith("param.")}


def config_of(t):
    return dict(line.split("=") for line in bytes(t["config"]).decode().split() if "=" in line)


def run(t):
    cfg = config_of(t)
    p = params_of(t)
    x = torch.tensor(t["input"], dtype=torch.float64, requires_grad=True)
    presence = torch.tensor(t["presence"], dtype=torch.float64)
    out = encode(p, x, presence, int(cfg["layers"]), int(cfg["heads"]), int(cfg["inducing"]))
    out.backward(torch.tensor(t["grad_output"], dtype=torch.float64))
    res = {"output": out.detach().numpy(), "grad.input": x.grad.numpy()}
    for k, v in p.items():
        res["grad." + k] = v.grad.numpy() if v.grad is not None else torch.zeros_like(v).numpy()
    return res


if __name__ == "__main__":
    write_tensors(sys.argv[2], run(read_tensors(sys.argv[1])))
