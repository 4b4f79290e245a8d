#!/usr/bin/env python3
"""PyTorch reference of capsrun's CNN baseline (Sabour et al. 2017, section 5).

A correctness reference only: capsrun never depends on it.

  cnn_torch.py reference IN.tensors OUT.tensors
      reads the parameters of capsrun's CNNBaseline ("1.weight" ... "13.bias":
      convolutions at 1, 3, 5, linear layers at 8, 10, 13), "input" (b, c, h, w)
      and "labels" (b) from a capsrun tensor file, runs one forward and
      backward of softmax cross-entropy in float64 (dropout off), and writes
      "logits", "loss" and "grad.<name>".
"""
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from capsnet_torch import read_tensors, write_tensors

CONVS, LINEARS = ["1", "3", "5"], ["8", "10", "13"]


class CNNBaseline(nn.Module):
    def __init__(self, t):
        super().__init__()
        self.convs = nn.ModuleList()
        for k in CONVS:
            o, i, kh, _ = t[k + ".weight"].shape
            self.convs.append(nn.Conv2d(i, o, kh, stride=1, padding=kh // 2))
        self.fcs = nn.ModuleList()
        for k in LINEARS:
            o, i = t[k + ".weight"].shape
            self.fcs.append(nn.Linear(i, o))

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x))
        x = x.flatten(1)
        x = F.relu(self.fcs[0](x))
        x = F.relu(self.fcs[1](x))
        return self.fcs[2](x)          # dropout is the identity here: p = 0


def reference(inp, outp):
    t = read_tensors(inp)
    model = CNNBaseline(t).double()
    pairs = []
    for k, m in zip(CONVS + LINEARS, list(model.convs) + list(model.fcs)):
        pairs += [(k + ".weight", m.weight), (k + ".bias", m.bias)]
    with torch.no_grad():
        for name, p in pairs:
            p.copy_(torch.from_numpy(t[name]))
    x = torch.from_numpy(t["input"]).double()
    labels = torch.from_numpy(t["labels"]).long()
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out = {"logits": logits.detach().numpy(), "loss": np.array([loss.item()])}
    for name, p in pairs:
        out["grad." + name] = p.grad.numpy()
    write_tensors(outp, out)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
