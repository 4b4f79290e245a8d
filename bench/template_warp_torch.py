"""The SCAE template warp in PyTorch (affine_grid + grid_sample, bilinear,
zero padding, align_corners=False), float64, for
spec/scae_template_warp_spec.lua: reads templates (T, h, w), poses (B, T, 6),
size (H, W) and grad_output; writes output, grad.templates, grad.poses.

    python3 bench/template_warp_torch.py IN.tensors OUT.tensors
"""
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from capsnet_torch import read_tensors, write_tensors  # noqa: E402


def main(inp, outp):
    t = read_tensors(inp)
    tm = torch.tensor(t["templates"], dtype=torch.float64, requires_grad=True)
    po = torch.tensor(t["poses"], dtype=torch.float64, requires_grad=True)
    H, W = (int(v) for v in t["size"])
    B, T = po.shape[:2]
    grid = F.affine_grid(po.reshape(B * T, 2, 3), (B * T, 1, H, W), align_corners=False)
    src = tm.unsqueeze(0).expand(B, -1, -1, -1).reshape(B * T, 1, tm.shape[1], tm.shape[2])
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False).reshape(B, T, H, W)
    out.backward(torch.tensor(t["grad_output"], dtype=torch.float64))
    write_tensors(outp, {"output": out.detach().numpy(), "grad.templates": tm.grad.numpy(), "grad.poses": po.grad.numpy()})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
