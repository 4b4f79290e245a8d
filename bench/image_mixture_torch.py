"""SCAE's per-pixel image mixture in PyTorch, float64, as the official
TemplateBasedImageDecoder builds it (a mixture over templates and the
background at every pixel, Normal components of one scale), for
spec/scae_image_mixture_spec.lua: reads mu, logits (B, K, P), y (B, P),
sigma (1) and grad_output (B); writes logp, grad.mu and grad.logits.

    python3 bench/image_mixture_torch.py IN.tensors OUT.tensors
"""
import sys

import torch
from torch.distributions import Categorical, MixtureSameFamily, Normal

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from capsnet_torch import read_tensors, write_tensors  # noqa: E402


def main(inp, outp):
    t = read_tensors(inp)
    mu = torch.tensor(t["mu"], dtype=torch.float64, requires_grad=True)
    logits = torch.tensor(t["logits"], dtype=torch.float64, requires_grad=True)
    y = torch.tensor(t["y"], dtype=torch.float64)
    sigma = float(t["sigma"][0])
    # components last, as torch.distributions wants them: (B, P, K)
    mix = MixtureSameFamily(Categorical(logits=logits.transpose(1, 2)), Normal(mu.transpose(1, 2), sigma))
    logp = mix.log_prob(y).sum(1)
    logp.backward(torch.tensor(t["grad_output"], dtype=torch.float64))
    write_tensors(outp, {"logp": logp.detach().numpy(), "grad.mu": mu.grad.numpy(), "grad.logits": logits.grad.numpy()})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
