"""The stacked capsule autoencoder's training step in PyTorch (float32):
the part autoencoder of bench/pcae_torch.py and the object autoencoder of
bench/image_ocae_torch.py on its parts, with the stop-gradient between
them, Adam; no presence noise (as capsrun's side of bench/scae_compare.sh).

    python3 bench/scae_torch.py THREADS BATCH STEPS PARAMS.tensors
PARAMS: capsrun's SCAE parameters by name (param.pcae.*, param.ocae.*).
"""
import sys
import time

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import image_ocae_torch  # noqa: E402
import pcae_torch  # noqa: E402
from capsnet_torch import read_tensors  # noqa: E402


def main(threads, batch, steps, params_path):
    image_ocae_torch.DTYPE = pcae_torch.DTYPE = torch.float32
    torch.set_num_threads(threads)
    t = read_tensors(params_path)
    p = {k[6:]: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in t.items() if k.startswith("param.")}
    ocae = {k[5:]: v for k, v in p.items() if k.startswith("ocae.")}
    K, Fe = p["ocae.cpr_static"].shape[2], 16
    cfg = {"capsules": str(p["ocae.cpr_static"].shape[0]), "layers": "3", "heads": "1", "classes": "10",
           "dynamic_l2_weight": "10", "prior_within": "2", "prior_between": "0.35", "prior_within_constant": "4.3",
           "posterior_within": "0.7", "posterior_between": "0.2"}
    opt = torch.optim.Adam(list(p.values()), lr=1e-4)
    xs = [torch.rand(batch, 1, 40, 40) for _ in range(steps + 1)]

    def step(x):
        opt.zero_grad()
        part_loss, m, presence, features = pcae_torch.pcae_loss(p, x, K, Fe, prefix="pcae.head.")
        pose = m.reshape(batch, K, 6).detach()
        object_loss = image_ocae_torch.loss_of(ocae, pose, presence.detach(), features.detach(), cfg)[0]
        (part_loss + object_loss).backward()
        opt.step()

    step(xs[-1])
    t0 = time.time()
    for x in xs[:steps]:
        step(x)
    print("pytorch %s SCAE step, batch %d, %d threads: %.2f ms" % (torch.__version__, batch, threads,
                                                                   (time.time() - t0) / steps * 1000))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
