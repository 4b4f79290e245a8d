"""An independent reader of capsrun's safetensors export (json + numpy only,
no safetensors package, no capsrun code), and the PyTorch reference CapsNet
and decoder loaded from it: spec/export_spec.lua compares its outputs with
capsrun's own on the same images.

    python3 bench/safetensors_torch.py MODEL.safetensors INPUT.tensors OUT.tensors
INPUT holds "input" (b, 1, h, w); OUT gets every tensor of the file as
"w.<name>", the metadata's configuration as "config", and the reference
model's capsule lengths ("lengths") and reconstructions ("recon") of INPUT.
"""
import json
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from capsnet_torch import NAMES, CapsNet, Decoder, read_tensors, write_tensors  # noqa: E402

EPS = 1e-7


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base, out = 8 + n, {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        begin, end = info["data_offsets"]
        shape = info["shape"]
        assert end - begin == 4 * int(np.prod(shape, dtype=np.int64)), (name, info)
        out[name] = np.frombuffer(data[base + begin:base + end], dtype="<f4").reshape(shape)
    assert base + max(i["data_offsets"][1] for i in header.values()) == len(data), "trailing or missing bytes"
    return out, meta


def main(model_path, input_path, out_path):
    weights, meta = read_safetensors(model_path)
    config = dict(line.split("=", 1) for line in meta["capsrun_config"].splitlines() if "=" in line)
    x = torch.from_numpy(read_tensors(input_path)["input"]).double()
    w, c1, pw = weights["4.weight"], weights["1.weight"], weights["3.conv.weight"]
    model = CapsNet(classes=w.shape[1], iters=int(config["routing_iters"]), in_caps=w.shape[0],
                    types=pw.shape[0] // w.shape[3], pdim=w.shape[3], ddim=w.shape[2], in_ch=c1.shape[1],
                    conv_ch=c1.shape[0], k1=c1.shape[2], k2=pw.shape[2],
                    stride=int(config["primary_stride"])).double()
    params = dict(model.named_parameters())
    dec = Decoder(classes=w.shape[1], dim=w.shape[2], pixels=weights["decoder.mlp.5.weight"].shape[0]).double()
    dparams = dict(dec.named_parameters())
    with torch.no_grad():
        for ours, theirs in NAMES.items():
            params[theirs].copy_(torch.from_numpy(weights[ours].copy()))
        for k, layer in ((1, 0), (3, 2), (5, 4)):
            for kind in ("weight", "bias"):
                dparams["net.%d.%s" % (layer, kind)].copy_(torch.from_numpy(weights["decoder.mlp.%d.%s" % (k, kind)].copy()))
        v = model(x)
        lengths = torch.sqrt((v * v).sum(-1) + EPS)
        recon = dec(v, lengths.argmax(1))
    out = {"w." + k: a for k, a in weights.items()}
    out["lengths"] = lengths.numpy()
    out["recon"] = recon.numpy()
    write_tensors(out_path, out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
