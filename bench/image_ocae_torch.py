"""The official object capsule autoencoder over part capsules
(models/scae.py ImageCapsule with capsule.py's CapsuleLayer and
CapsuleLikelihood; the l2 prior and entropy posterior sparsity of
ImageAutoencoder's loss) written again in PyTorch, float64, with capsrun's
parameter names, without the presence noise (capsrun's evaluation mode),
for spec/scae_ocae_spec.lua.

    python3 bench/image_ocae_torch.py IN.tensors OUT.tensors
IN: pose (B, P, 6), presence (B, P), features (B, P, F), optionally
templates (P, T) and colour (B, P) (feed_templates: each part's template,
scaled by its colour, joins its encoder input, without a gradient), config,
param.<name>; OUT: loss, log_prob, caps_presence (B, K), mass (B, K),
grad.pose and grad.<name> of every parameter.
"""
import math
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from capsnet_torch import read_tensors, write_tensors  # noqa: E402
from constellation_torch import capsule_outputs  # noqa: E402
from set_transformer_torch import config_of, encode, params_of  # noqa: E402

LOG_DUMMY = -2 * math.log(10)
DTYPE = torch.float64


def geometric_transform(x):
    """math_ops.geometric_transform(similarity=False, nonlinear=True, as_matrix=True): (..., 6) -> (..., 3, 3)"""
    sx, sy = torch.sigmoid(x[..., 0]) + 1e-2, torch.sigmoid(x[..., 1]) + 1e-2
    theta = x[..., 2] * 2 * math.pi
    shear = torch.tanh(x[..., 3] * 5)
    tx, ty = torch.tanh(x[..., 4] * 5), torch.tanh(x[..., 5] * 5)
    c, s = torch.cos(theta), torch.sin(theta)
    zero, one = torch.zeros_like(sx), torch.ones_like(sx)
    rows = [torch.stack([sx * c + shear * sy * s, -sx * s + shear * sy * c, tx], -1),
            torch.stack([sy * s, sy * c, ty], -1), torch.stack([zero, zero, one], -1)]
    return torch.stack(rows, -2)


def entropy(x, dim):
    q = x / (x.sum(dim, keepdim=True) + 1e-8)
    return -(q * torch.log(q + 1e-8)).sum(dim)


def loss_of(p, pose, presence, features, cfg, templates=None, colour=None):
    K, P = int(cfg["capsules"]), pose.shape[1]
    B = pose.shape[0]
    w = {k: float(cfg[k]) for k in ("classes", "dynamic_l2_weight", "prior_within", "prior_between",
                                    "prior_within_constant", "posterior_within", "posterior_between")}
    parts = [pose, 1 - presence.unsqueeze(-1), features]
    if templates is not None:   # models/scae.py, feed_templates: templates * colour, stop_gradient, BatchFlatten
        t = templates.unsqueeze(0).expand(B, -1, -1)
        if colour is not None:   # one colour per part, or per channel of a C-channel template
            col = colour if colour.dim() == 3 else colour.unsqueeze(-1)
            t = (t.reshape(B, P, col.shape[-1], -1) * col.unsqueeze(-1)).reshape(B, P, -1)
        parts.append(t)
    parts = torch.cat(parts, -1)
    feats = encode(p, parts, torch.ones(B, P, dtype=DTYPE), int(cfg["layers"]), int(cfg["heads"]), 0,
                   prefix="encoder.")                                            # (B, K, out_dims)

    dynamic, ccr, pres_caps, pres_vote, scale = capsule_outputs(p, feats, P)
    cpr = dynamic.reshape(K, B, P, 6) + p["cpr_static"]
    vote = geometric_transform(ccr).unsqueeze(2) @ geometric_transform(cpr)     # (K, B, P, 3, 3)
    vote = vote[..., :2, :].reshape(K, B, P, 6).permute(1, 0, 2, 3)             # (B, K, P, 6)
    vote_pres = (torch.sigmoid(pres_caps) * torch.sigmoid(pres_vote)).permute(1, 0, 2)   # (B, K, P)
    scale = scale.permute(1, 0, 2)
    # CapsuleLikelihood: one vote per capsule for each part, a dummy, unnormalised mixing logits
    comp = torch.distributions.Normal(vote, scale.unsqueeze(-1))
    logp = comp.log_prob(pose.unsqueeze(1)).sum(-1)                             # (B, K, P)
    logp = torch.cat([logp, torch.full((B, 1, P), LOG_DUMMY, dtype=DTYPE)], 1)
    mixing = torch.cat([torch.log(vote_pres + 1e-16), torch.full((B, 1, P), LOG_DUMMY, dtype=DTYPE)], 1)
    post = mixing + logp
    log_prob = (torch.logsumexp(post, 1) * presence).sum(1).mean()
    caps_presence = vote_pres.max(2).values                                     # (B, K)
    within = ((caps_presence.sum(1) - w["prior_within_constant"]) ** 2).sum() / B
    between = ((caps_presence.sum(0) - B / w["classes"]) ** 2).sum() / K
    mass = torch.softmax(post, 1)[:, :K]                                        # (B, K, P)
    if cfg.get("posterior_mass", "presence") != "official":   # the released code weighs all parts alike
        mass = mass * presence.unsqueeze(1)
    mass = mass.sum(2)                                                          # (B, K)
    post_within = entropy(mass, 1).mean()
    post_between = entropy(mass.sum(0), 0)
    dynamic_l2 = (dynamic ** 2).sum() / 2 / B
    loss = (-log_prob + w["dynamic_l2_weight"] * dynamic_l2 + w["prior_within"] * within
            + w["prior_between"] * between + w["posterior_within"] * post_within
            - w["posterior_between"] * post_between)
    return loss, log_prob, caps_presence, mass


def run(t):
    cfg = config_of(t)
    p = params_of(t)
    pose = torch.tensor(t["pose"], dtype=DTYPE, requires_grad=True)
    presence = torch.tensor(t["presence"], dtype=DTYPE)
    features = torch.tensor(t["features"], dtype=DTYPE)
    templates = torch.tensor(t["templates"], dtype=DTYPE) if "templates" in t else None
    colour = torch.tensor(t["colour"], dtype=DTYPE) if "colour" in t else None
    loss, log_prob, caps_presence, mass = loss_of(p, pose, presence, features, cfg, templates, colour)
    loss.backward()
    res = {"loss": loss.detach().reshape(1).numpy(), "log_prob": log_prob.detach().reshape(1).numpy(),
           "caps_presence": caps_presence.detach().numpy(), "mass": mass.detach().numpy(),
           "grad.pose": pose.grad.numpy()}
    for k, v in p.items():
        res["grad." + k] = v.grad.numpy() if v.grad is not None else torch.zeros_like(v).numpy()
    return res


if __name__ == "__main__":
    write_tensors(sys.argv[2], run(read_tensors(sys.argv[1])))
