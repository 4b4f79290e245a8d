"""The official constellation model (models/constellation.py:
ConstellationCapsule with capsule.py's CapsuleLayer and
OrderInvariantCapsuleLikelihood, ConstellationAutoencoder's loss) written
again in PyTorch, float64, with capsrun's parameter names, without the
presence noise (capsrun's evaluation mode), for
spec/scae_constellation_spec.lua.

    python3 bench/constellation_torch.py IN.tensors OUT.tensors
IN: input (B, M, 2), presence (B, M), config, param.<name>; OUT: loss,
log_prob, winner (B, M), grad.input and grad.<name> of every parameter.
"""
import math
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from capsnet_torch import read_tensors, write_tensors  # noqa: E402
from set_transformer_torch import config_of, encode, params_of  # noqa: E402

LOG_DUMMY = -2 * math.log(10)
DTYPE = torch.float64   # the reference; the benchmark runs float32 as capsrun does


def capsule_outputs(p, feats, V):
    """capsule.py's CapsuleLayer up to its outputs: feats (B, K, F) through each capsule's own MLPs (BatchMLP)
    -> dynamic relations (K, B, 6V), ccr (K, B, 6), capsule and vote presence logits, vote scales"""
    B, K, _ = feats.shape

    def blin(name, h, bias=True):
        y = torch.einsum("kbi,kio->kbo", h, p[name + ".weight"])
        return y + p[name + ".bias"] if bias else y

    h = feats.permute(1, 0, 2)
    h = blin("mlp2", torch.relu(blin("mlp1", h)))
    h = torch.cat([h, torch.ones(K, B, 1, dtype=h.dtype)], -1)
    allp = blin("caps2", torch.relu(blin("caps1", h)), bias=False)
    dynamic = allp[..., :6 * V]
    ccr = allp[..., 6 * V:6 * V + 6] + p["bias.ccr"]
    pres_caps = allp[..., 6 * V + 6:6 * V + 7] + p["bias.pres_caps"]
    pres_vote = allp[..., 6 * V + 7:7 * V + 7] + p["bias.pres_vote"]
    scale = F.softplus(allp[..., 7 * V + 7:8 * V + 7] + p["bias.scale"] + .5) + 1e-2
    return dynamic, ccr, pres_caps, pres_vote, scale


def loss_of(p, x, presence, cfg):
    """the loss, log-likelihood and winners of the model with parameters p on points x"""
    K, V, classes = int(cfg["capsules"]), int(cfg["votes"]), float(cfg["classes"])
    sw, dw, pw, bw = (float(cfg[k]) for k in ("sparsity_weight", "dynamic_l2_weight", "prior_within", "prior_between"))
    B, M, _ = x.shape
    feats = encode(p, x, presence, int(cfg["layers"]), int(cfg["heads"]), 0, prefix="encoder.")   # (B, K, P)

    cpr_dynamic, ccr, pres_caps, pres_vote, scale = capsule_outputs(p, feats, V)
    # math_ops.geometric_transform(similarity=True, nonlinear=True): the object's pose
    s = torch.sigmoid(ccr[..., 0:1]) + 1e-2
    theta = ccr[..., 2:3] * 2 * math.pi
    tx, ty = torch.tanh(ccr[..., 4:5] * 5), torch.tanh(ccr[..., 5:6] * 5)
    cpr = cpr_dynamic.reshape(K, B, V, 6) + p["cpr_static"]
    ux, uy = torch.tanh(cpr[..., 4] * 5), torch.tanh(cpr[..., 5] * 5)
    # the translation column of ccr @ cpr (math_ops.apply_transform(transform=vote))
    vx = s * torch.cos(theta) * ux - s * torch.sin(theta) * uy + tx
    vy = s * torch.sin(theta) * ux + s * torch.cos(theta) * uy + ty
    pres = torch.sigmoid(pres_caps) * torch.sigmoid(pres_vote)                 # (K, B, V)

    def flat(a):
        return a.permute(1, 0, 2).reshape(B, K * V)

    mx, my, sc, pr = flat(vx), flat(vy), flat(scale), flat(pres)
    # OrderInvariantCapsuleLikelihood
    comp = torch.distributions.Normal(torch.stack([mx, my], -1).unsqueeze(1), sc.unsqueeze(1).unsqueeze(-1))
    logp = comp.log_prob(x.unsqueeze(2)).sum(-1)                               # (B, M, KV)
    logp = torch.cat([logp, torch.full((B, M, 1), LOG_DUMMY, dtype=DTYPE)], 2)
    logits = torch.cat([torch.log(pr + 1e-16), torch.full((B, 1), LOG_DUMMY, dtype=DTYPE)], 1)
    mixing = logits - torch.logsumexp(logits, 1, keepdim=True)
    post = mixing.unsqueeze(1) + logp
    log_prob = (torch.logsumexp(post, 2) * presence).sum(1).mean()
    winner = torch.argmax(post[..., :-1], 2) // V                              # (B, M)
    # ConstellationCapsule's sparsity loss
    wins = (F.one_hot(winner, K).to(DTYPE) * presence.unsqueeze(-1)).sum(1)     # (B, K)
    active, anyw = (wins > 1).to(DTYPE), (wins > 0).to(DTYPE)
    caps_logit = pres_caps.reshape(K, B).t()
    sparsity = (F.binary_cross_entropy_with_logits(caps_logit, active, reduction="none") * anyw).sum(-1).mean()
    dynamic_l2 = (cpr_dynamic ** 2).sum() / 2 / B
    # capsule._caps_pres_l2 with num_classes = 2 (ConstellationAutoencoder's default)
    caps_presence = pres.max(2).values.t()                                     # (B, K)
    within = ((caps_presence.sum(1) - K / classes) ** 2).sum() / B
    between = ((caps_presence.sum(0) - B / classes) ** 2).sum() / K
    loss = -log_prob + sw * sparsity + dw * dynamic_l2 + pw * within + bw * between
    return loss, log_prob, winner


def run(t):
    cfg = config_of(t)
    p = params_of(t)
    x = torch.tensor(t["input"], dtype=torch.float64, requires_grad=True)
    presence = torch.tensor(t["presence"], dtype=torch.float64)
    loss, log_prob, winner = loss_of(p, x, presence, cfg)
    loss.backward()
    res = {"loss": loss.detach().reshape(1).numpy(), "log_prob": log_prob.detach().reshape(1).numpy(),
           "winner": winner.double().numpy(), "grad.input": x.grad.numpy()}
    for k, v in p.items():
        res["grad." + k] = v.grad.numpy() if v.grad is not None else torch.zeros_like(v).numpy()
    return res


def bench(threads, batch, steps, params_path):
    """float32 training steps (forward, backward, Adam) on capsrun's initial parameters"""
    import time
    global DTYPE
    DTYPE = torch.float32
    torch.set_num_threads(threads)
    t = read_tensors(params_path)
    p = {k[6:]: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in t.items() if k.startswith("param.")}
    cfg = {"capsules": "3", "votes": "4", "classes": "2", "sparsity_weight": "10", "dynamic_l2_weight": "10",
           "prior_within": "1", "prior_between": "1", "layers": "4", "heads": "4"}
    opt = torch.optim.Adam(list(p.values()), lr=1e-4)
    xs = [torch.rand(batch, 11, 2) * 2 - 1 for _ in range(steps + 1)]
    pres = torch.ones(batch, 11)

    def step(x):
        opt.zero_grad()
        loss_of(p, x, pres, cfg)[0].backward()
        opt.step()

    step(xs[-1])
    t0 = time.time()
    for x in xs[:steps]:
        step(x)
    print("pytorch %s constellation step, batch %d, %d threads: %.2f ms" % (torch.__version__, batch, threads,
                                                                           (time.time() - t0) / steps * 1000))


if __name__ == "__main__":
    if sys.argv[1] == "bench":
        bench(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        write_tensors(sys.argv[2], run(read_tensors(sys.argv[1])))
