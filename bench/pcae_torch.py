"""The official part capsule autoencoder for MNIST (primary.py:
CapsuleImageEncoder 'conv_att' over a 4-layer CNN, TemplateBasedImageDecoder
with the mixture likelihood; with run_mnist.sh's sigmoid, coloured,
alpha-mixed templates when the parameters hold templates_alpha) written
again in PyTorch, float64, with
capsrun's parameter names and conventions (the template placed by the
inverse of its part's pose through affine_grid + grid_sample), without the
presence noise, for spec/scae_pcae_spec.lua.

    python3 bench/pcae_torch.py IN.tensors OUT.tensors
IN: images (B, C, H, W), config (parts, features[, target=sobel: the likelihood
of the images' normalised Sobel edges, the official prep='sobel']), param.<name>; OUT: loss,
poses (B, K, 6), presence (B, K), grad.<name> of every parameter. Colour
(C > 1) as the official decoder's n_channels: templates of C channels placed
by their part's pose, each channel its own per-pixel mixture (the official
MixtureDistribution over [B, K, H, W, C]), the colour MLP with C outputs,
one alpha template per part for all channels.
"""
import math
import sys

import torch
import torch.nn.functional as F
from torch.distributions import Categorical, MixtureSameFamily, Normal

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from capsnet_torch import read_tensors, write_tensors  # noqa: E402
from set_transformer_torch import config_of, params_of  # noqa: E402


DTYPE = torch.float64   # the reference; bench/scae_torch.py runs float32 as capsrun does


def sobel_target(x):
    """the official prep='sobel' (preprocess.normalized_sobel_edges) on x (B, C, H, W): tf.image.sobel_edges
    (reflect padding) with its two responses summed, minus each plane's median (tfp.stats.percentile 50,
    'nearest': the sorted value at round((n - 1) / 2), ties to even), absolute, min-max scaled per plane"""
    B, C, H, W = x.shape
    ky = torch.tensor([[-1., -2., -1.], [0., 0., 0.], [1., 2., 1.]], dtype=x.dtype)
    k = (ky + ky.t()).expand(C, 1, 3, 3)                      # dy + dx in one depthwise correlation
    s = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), k, groups=C).reshape(B, C, H * W)
    med = s.sort(-1).values[..., round((H * W - 1) / 2)].unsqueeze(-1)   # Python's round: ties to even
    s = (s - med).abs()
    lo, hi = s.min(-1, keepdim=True).values, s.max(-1, keepdim=True).values
    return ((s - lo) / (hi - lo + 1e-8)).reshape(B, C, H, W)


def pcae_loss(p, x, K, Fe, prefix="head.", target=None):
    """minus the mean log-likelihood of images x (B, Ch, H, W) (of target when given: the encoder sees x);
    the poses (B, K, 2, 3), presences, features"""
    B, Ch, H, W = x.shape
    h = x
    for i, stride in zip((1, 3, 5, 7), (2, 2, 1, 1)):
        cnn = prefix.replace("head.", "cnn.")
        h = F.relu(F.conv2d(h, p[cnn + "%d.weight" % i], p[cnn + "%d.bias" % i], stride=stride))
    C = h.shape[1]
    D = 6 + Fe + 1
    h = h.reshape(B, C, -1) + p[prefix + "position_bias"]                      # snt.AddBias over (C, y, x)
    h = h.permute(0, 2, 1) @ p[prefix + "att.weight"] + p[prefix + "att.bias"]   # the 1x1 convolution
    feats = h[..., :K * D].reshape(B, -1, D, K)
    att = torch.softmax(h[..., K * D:], 1).reshape(B, -1, 1, K)
    caps = (feats * att).sum(1).reshape(B, K, D)                              # as the official reshape
    pose, features, logit = caps[..., :6], caps[..., 6:6 + Fe], caps[..., 6 + Fe]
    presence = torch.sigmoid(logit)
    sx, sy = torch.sigmoid(pose[..., 0]) + 1e-2, torch.sigmoid(pose[..., 1]) + 1e-2
    theta = pose[..., 2] * 2 * math.pi
    shear = torch.tanh(pose[..., 3] * 5)
    tx, ty = torch.tanh(pose[..., 4] * 5), torch.tanh(pose[..., 5] * 5)
    c, s = torch.cos(theta), torch.sin(theta)
    a, b, cc, d = sx * c + shear * sy * s, -sx * s + shear * sy * c, sy * s, sy * c
    m = torch.stack([torch.stack([a, b, tx], -1), torch.stack([cc, d, ty], -1)], -2)   # (B, K, 2, 3)
    top = torch.cat([m, torch.tensor([0., 0., 1.], dtype=DTYPE).expand(B, K, 1, 3)], -2)
    inv = torch.linalg.inv(top)[..., :2, :]                                    # canvas -> template
    official = prefix + "templates_alpha" in p   # run_mnist.sh: sigmoid, colorize_templates, use_alpha_channel
    tm = torch.sigmoid(p[prefix + "templates"]) if official else p[prefix + "templates"].clamp(0, 1)
    grid = F.affine_grid(inv.reshape(B * K, 2, 3), (B * K, 1, H, W), align_corners=False)

    def place(t, chans):   # t (K * chans, h, w): template k's channels at rows k * chans ...
        src = t.reshape(K, chans, t.shape[1], t.shape[2]).unsqueeze(0).expand(B, -1, -1, -1, -1)
        src = src.reshape(B * K, chans, t.shape[1], t.shape[2])
        return F.grid_sample(src, grid, align_corners=False).reshape(B, K, chans, H * W)

    placed = place(tm, Ch)
    if official:   # the template times its colour, an MLP of the part's features (snt.nets.MLP([32, C]))
        h1 = F.relu(features @ p[prefix + "color.1.weight"] + p[prefix + "color.1.bias"])
        placed = placed * torch.sigmoid(h1 @ p[prefix + "color.2.weight"] + p[prefix + "color.2.bias"]).unsqueeze(-1)
    placed = placed.reshape(B, K, Ch * H * W)
    bg = torch.sigmoid(p[prefix + "bg_value"]).expand(B, 1, Ch * H * W)
    mu = torch.cat([placed, bg], 1)
    log_pres = torch.cat([torch.log(presence + 1e-16), torch.zeros(B, 1, dtype=DTYPE)], 1)
    if official:
        bg_logit = F.softplus(p[prefix + "bg_mixing_logit"]).expand(B, 1, Ch * H * W)
        alpha = place(p[prefix + "templates_alpha"], 1).expand(B, K, Ch, H * W).reshape(B, K, Ch * H * W)
        logits = torch.cat([alpha, bg_logit], 1) + log_pres.unsqueeze(-1)
    else:
        temperature = F.softplus(p[prefix + "temperature_logit"] + .5) + 1e-4
        logits = mu / temperature + log_pres.unsqueeze(-1)
    mix = MixtureSameFamily(Categorical(logits=logits.transpose(1, 2)), Normal(mu.transpose(1, 2), 1.0))
    y = x if target is None else target
    loss = -mix.log_prob(y.reshape(B, Ch * H * W)).sum(1).mean()
    return loss, m, presence, features


def run(t):
    cfg = config_of(t)
    K, Fe = int(cfg["parts"]), int(cfg["features"])
    p = params_of(t)
    x = torch.tensor(t["images"], dtype=DTYPE)
    B = x.shape[0]
    target = sobel_target(x) if cfg.get("target") == "sobel" else None
    loss, m, presence, _ = pcae_loss(p, x, K, Fe, target=target)
    loss.backward()
    res = {"loss": loss.detach().reshape(1).numpy(), "presence": presence.detach().numpy(),
           "poses": m.detach().reshape(B, K, 6).numpy()}
    for k, v in p.items():
        res["grad." + k] = v.grad.numpy()
    return res


if __name__ == "__main__":
    write_tensors(sys.argv[2], run(read_tensors(sys.argv[1])))
