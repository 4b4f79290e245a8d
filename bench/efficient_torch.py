"""Efficient-CapsNet (Mazzia et al. 2021) in PyTorch, as its official Keras
code builds the MNIST model: the reference of spec/efficient_torch_spec.lua.

  python3 bench/efficient_torch.py reference IN.tensors OUT.tensors
      IN: capsrun's parameters by name (1.weight ... 14.bias) and buffers
      (3.running_mean ...), input (B, C, H, W), labels (B), classes (1).
      One training-mode forward (batch statistics) and backward of the margin
      loss, in float64. OUT: lengths, loss, grad.<name> for every parameter,
      and the running statistics after the step.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from capsnet_torch import margin_loss, read_tensors, write_tensors  # noqa: E402

CONVS = [(1, 1, 3), (4, 1, 6), (7, 1, 9), (10, 2, 12)]   # conv module, stride, its batch norm module


def squash(s, eps=1e-20):
    n = s.norm(dim=-1, keepdim=True)
    return (1 - 1 / torch.exp(n)) * (s / (n + eps))


def forward(p, buf, x, classes):
    for conv, stride, bn in CONVS:
        x = F.relu(F.conv2d(x, p["%d.weight" % conv], p["%d.bias" % conv], stride=stride))
        rm, rv = buf["%d.running_mean" % bn], buf["%d.running_var" % bn]
        x = F.batch_norm(x, rm, rv, p["%d.weight" % bn], p["%d.bias" % bn], training=True, momentum=0.01,
                         eps=1e-3)
    b, ch = x.shape[0], x.shape[1]
    w = p["13.weight"].reshape(ch, 1, x.shape[2], x.shape[3])
    prim = F.conv2d(x, w, p["13.bias"], groups=ch).reshape(b, 16, 8)   # depthwise, whole map
    u = squash(prim)
    W = p["14.weight"]                                   # (I, J, D, Din) as capsrun's caps_predict
    uhat = torch.einsum("ijdk,bik->bjid", W, u)          # (B, J, I, D)
    c = torch.einsum("...ij,...kj->...i", uhat, uhat)[..., None] / uhat.shape[-1] ** 0.5
    c = F.softmax(c, dim=1) + p["14.bias"]               # bias (J, I, 1)
    v = squash((uhat * c).sum(-2))
    return v


def reference(inp, outp):
    t = read_tensors(inp)
    classes = int(t["classes"][0])
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in t.items()
         if k[0].isdigit() and not k.endswith(("running_mean", "running_var"))}
    buf = {k: torch.tensor(v, dtype=torch.float64) for k, v in t.items() if k.endswith(("running_mean", "running_var"))}
    x = torch.tensor(t["input"], dtype=torch.float64)
    labels = torch.tensor(t["labels"], dtype=torch.long)
    v = forward(p, buf, x, classes)
    lengths = torch.sqrt((v * v).sum(-1) + 1e-8)
    loss = margin_loss(lengths, labels)
    loss.backward()
    out = {"lengths": lengths.detach().numpy(), "loss": loss.detach().reshape(1).numpy()}
    for k, v in p.items():
        out["grad." + k] = v.grad.numpy()
    for k, v in buf.items():
        out["buffer." + k] = v.numpy()
    write_tensors(outp, out)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
