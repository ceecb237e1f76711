#!/usr/bin/python3
"""make_golden.py: writes PyTorch reference cases in the format of
../shared/golden (see its README.md) for the nn golden tests
(tests/nn/test_golden_dcgan.cpp, tests/nn/test_golden_optimizers.cpp), so that
they can be run on cases of other sizes and hyper-parameters than the public
set's:

  /usr/bin/python3 tests/nn/make_golden.py dcgan /tmp/cases/100_dcgan_64.safetensors \
      --image 64 --nz 5 --ngf 3 --ndf 2 --nc 1 --batch 3
  /usr/bin/python3 tests/nn/make_golden.py optimizer /tmp/cases/058_adam_other.safetensors \
      --op adam --lr 3e-3 --beta1 0.8 --beta2 0.95 --eps 1e-6 --weight-decay 0.05
  LOOM_GOLDEN_DIR=/tmp/cases ctest --test-dir build -R golden

Needs PyTorch 1.13 (Debian's python3-torch, /usr/bin/python3). As in the public
set, inputs and initial weights are float32 values (stored F32) and everything
is computed in float64 (results stored F64).

dcgan: the classic DCGAN (PyTorch's examples/dcgan) for image size
S = 4 * 2^k, k >= 1, written out here independently of the C++ test:
  G: ConvT(nz, ngf 2^(k-1), 4, 1, 0) BN ReLU, then k-1 times ConvT(c, c/2, 4, 2, 1) BN ReLU,
     then ConvT(ngf, nc, 4, 2, 1) Tanh                        (N, nz, 1, 1) -> (N, nc, S, S)
  D: Conv(nc, ndf, 4, 2, 1) LeakyReLU(0.2), then k-1 times Conv(c, 2c, 4, 2, 1) BN LeakyReLU(0.2),
     then Conv(ndf 2^(k-1), 1, 4, 1, 0) Sigmoid                (N, nc, S, S) -> (N, 1, 1, 1)
no convolution bias, initialised by the DCGAN rule (conv weights N(0, init_std^2),
batch-norm weights N(1, 0.02^2), biases 0); --random-stats also draws batch-norm
biases and running statistics, so that the running-statistics update is
checked away from its defaults. One iteration, exactly as the metadata says:
  fake = G(z); errD = BCE(D(real), 1) + BCE(D(fake.detach()), 0); errD.backward(); optD.step()
  errG = BCE(D(fake), 1) (through the updated D); errG.backward(); optG.step()

optimizer: `param` (shape --shape), five gradients `grads` [5, ...] over
three decades of scale, and `param_after_5_steps` after five steps of
torch.optim.Adam / AdamW / SGD with the given hyper-parameters.
"""
import argparse

import torch
from torch import nn

import safetensors_io

LOSS_TEXT = ("BCE on sigmoid outputs; errD = BCE(D(real),1) + BCE(D(G(z).detach()),0), one backward; "
             "errG = BCE(D(G(z)),1) through the updated D, on the same G(z) (G runs forward once)")


def dcgan_generator(nz, ngf, nc, stages, batch_norm):
    channels = ngf * 2 ** (stages - 1)
    layers = [nn.ConvTranspose2d(nz, channels, 4, 1, 0, bias=False), batch_norm(channels), nn.ReLU(True)]  # 4x4
    for _ in range(stages - 1):  # 4 -> 8 -> ... -> S/2
        layers += [nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False), batch_norm(channels // 2),
                   nn.ReLU(True)]
        channels //= 2
    layers += [nn.ConvTranspose2d(channels, nc, 4, 2, 1, bias=False), nn.Tanh()]  # S x S
    return nn.Sequential(*layers)


def dcgan_discriminator(nc, ndf, stages, batch_norm):
    channels = ndf
    layers = [nn.Conv2d(nc, channels, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]  # S/2
    for _ in range(stages - 1):  # S/2 -> ... -> 4
        layers += [nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False), batch_norm(channels * 2),
                   nn.LeakyReLU(0.2, inplace=True)]
        channels *= 2
    layers += [nn.Conv2d(channels, 1, 4, 1, 0, bias=False), nn.Sigmoid()]  # 1 x 1
    return nn.Sequential(*layers)


def dcgan_init(model, init_std, random_stats, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.normal_(0.0, init_std, generator=gen)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.normal_(1.0, 0.02, generator=gen)
                m.bias.zero_()
                if random_stats:
                    m.bias.normal_(0.0, 0.1, generator=gen)
                    m.running_mean.normal_(0.0, 0.5, generator=gen)
                    m.running_var.uniform_(0.5, 2.0, generator=gen)


def saved_state(prefix, model, suffix=""):
    """The state dict without num_batches_tracked (the golden files have none)."""
    return {prefix + name + suffix: t.detach().clone() for name, t in model.state_dict().items()
            if not name.endswith("num_batches_tracked")}


def make_dcgan(a):
    stages = 0
    while (4 << stages) < a.image:
        stages += 1
    if stages < 1 or (4 << stages) != a.image:
        raise SystemExit(f"--image {a.image} is not 4 * 2^k with k >= 1")
    gen = torch.Generator().manual_seed(a.seed)
    batch_norm = lambda c: nn.BatchNorm2d(c, eps=a.bn_eps, momentum=a.bn_momentum)
    G = dcgan_generator(a.nz, a.ngf, a.nc, stages, batch_norm)
    D = dcgan_discriminator(a.nc, a.ndf, stages, batch_norm)
    dcgan_init(G, a.init_std, a.random_stats, gen)
    dcgan_init(D, a.init_std, a.random_stats, gen)
    z = torch.randn(a.batch, a.nz, 1, 1, generator=gen)                    # (N, nz, 1, 1) float32
    real = torch.rand(a.batch, a.nc, a.image, a.image, generator=gen) * 2 - 1  # (N, nc, S, S) in [-1, 1)
    tensors = {"z": z, "real": real, **saved_state("G.", G), **saved_state("D.", D)}  # float32 values

    G.double().train()
    D.double().train()
    adam = dict(lr=a.lr, betas=(a.beta1, a.beta2), eps=a.eps)
    optD = torch.optim.Adam(D.parameters(), **adam)
    optG = torch.optim.Adam(G.parameters(), **adam)
    bce = nn.BCELoss()
    ones = torch.ones(a.batch, dtype=torch.float64)
    zeros = torch.zeros(a.batch, dtype=torch.float64)
    fake = G(z.double())
    optD.zero_grad()
    errD = bce(D(real.double()).view(-1), ones) + bce(D(fake.detach()).view(-1), zeros)
    errD.backward()
    optD.step()
    optG.zero_grad()
    errG = bce(D(fake).view(-1), ones)
    errG.backward()
    optG.step()

    tensors.update({"errD": errD.detach().reshape(1), "errG": errG.detach().reshape(1), "fake": fake.detach()})
    tensors.update(saved_state("G.", G, ":after"))
    tensors.update(saved_state("D.", D, ":after"))
    metadata = {
        "op": "dcgan_iteration",
        "nz": str(a.nz), "ngf": str(a.ngf), "ndf": str(a.ndf), "nc": str(a.nc),
        "batch": str(a.batch), "image": str(a.image),
        "optimizer": f"Adam lr={a.lr:g} betas=({a.beta1:g},{a.beta2:g}) eps={a.eps:g} for both nets",
        "loss": LOSS_TEXT,
        "batchnorm": f"train mode, momentum {a.bn_momentum:g}, eps {a.bn_eps:g}; "
                     "D's statistics are updated by each of its three forward passes",
    }
    return tensors, metadata


def make_optimizer(a):
    gen = torch.Generator().manual_seed(a.seed)
    shape = [int(s) for s in a.shape.split(",")]
    param = torch.randn(*shape, generator=gen)  # float32
    scale = 10.0 ** torch.empty(5, *shape).uniform_(-2.0, 1.0, generator=gen)
    grads = (torch.randn(5, *shape, generator=gen) * scale).float()  # (5, ...param) float32
    p = param.double().clone().requires_grad_()
    if a.op == "sgd":
        opt = torch.optim.SGD([p], lr=a.lr, momentum=a.momentum, dampening=a.dampening,
                              weight_decay=a.weight_decay, nesterov=a.nesterov)
        metadata = {"op": "sgd", "inputs": "param", "lr": str(a.lr), "momentum": str(a.momentum),
                    "weight_decay": str(a.weight_decay), "nesterov": "1" if a.nesterov else "0"}
        if a.dampening != 0:
            metadata["dampening"] = str(a.dampening)
    else:
        kind = torch.optim.Adam if a.op == "adam" else torch.optim.AdamW
        opt = kind([p], lr=a.lr, betas=(a.beta1, a.beta2), eps=a.eps, weight_decay=a.weight_decay,
                   amsgrad=a.amsgrad)
        metadata = {"op": a.op, "inputs": "param", "lr": str(a.lr), "beta1": str(a.beta1), "beta2": str(a.beta2),
                    "eps": str(a.eps), "weight_decay": str(a.weight_decay)}
        if a.amsgrad:
            metadata["amsgrad"] = "1"
    for g in grads:
        p.grad = g.double()
        opt.step()
    return {"param": param, "grads": grads, "param_after_5_steps": p.detach()}, metadata


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="kind", required=True)
    d = sub.add_parser("dcgan", help="a dcgan_iteration case")
    d.add_argument("out")
    for name, default in [("nz", 8), ("ngf", 4), ("ndf", 4), ("nc", 3), ("image", 32), ("batch", 4), ("seed", 0)]:
        d.add_argument("--" + name, type=int, default=default)
    for name, default in [("lr", 2e-4), ("beta1", 0.5), ("beta2", 0.999), ("eps", 1e-8), ("bn-momentum", 0.1),
                          ("bn-eps", 1e-5), ("init-std", 0.02)]:
        d.add_argument("--" + name, type=float, default=default)
    d.add_argument("--random-stats", action="store_true", help="random batch-norm biases and running statistics")
    o = sub.add_parser("optimizer", help="an adam, adamw or sgd case")
    o.add_argument("out")
    o.add_argument("--op", choices=["adam", "adamw", "sgd"], required=True)
    o.add_argument("--shape", default="5,4")
    o.add_argument("--seed", type=int, default=0)
    for name, default in [("lr", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8), ("weight-decay", 0.0),
                          ("momentum", 0.0), ("dampening", 0.0)]:
        o.add_argument("--" + name, type=float, default=default)
    o.add_argument("--amsgrad", action="store_true")
    o.add_argument("--nesterov", action="store_true")
    a = parser.parse_args()
    torch.set_num_threads(1)
    tensors, metadata = make_dcgan(a) if a.kind == "dcgan" else make_optimizer(a)
    safetensors_io.save(a.out, tensors, metadata)


if __name__ == "__main__":
    main()
