#!/usr/bin/python3
"""peer_dcgan.py: the PyTorch peer of bench_dcgan_step.cpp: one classic DCGAN
iteration (BCE, Adam lr 2e-4 betas (0.5, 0.999)) at batch 64 for 32x32 and 64x64,
on the CPU with 2 threads. Prints the median seconds per iteration.
Needs Debian's python3-torch and libopenblas0-pthread (scripts/setup.sh --bench)."""
import statistics
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(2)
torch.manual_seed(1)


def make(image, nz=100, width=64, nc=3):
    levels = 4 if image == 64 else 3
    g_layers, c_in, mult = [], nz, 1 << (levels - 1)
    for level in range(levels):
        out = width * mult
        g_layers += [nn.ConvTranspose2d(c_in, out, 4, 1 if level == 0 else 2, 0 if level == 0 else 1, bias=False),
                     nn.BatchNorm2d(out), nn.ReLU(True)]
        c_in, mult = out, mult // 2
    g_layers += [nn.ConvTranspose2d(c_in, nc, 4, 2, 1, bias=False), nn.Tanh()]
    d_layers, c_in = [], nc
    for level in range(levels):
        out = width << level
        d_layers.append(nn.Conv2d(c_in, out, 4, 2, 1, bias=False))
        if level > 0:
            d_layers.append(nn.BatchNorm2d(out))
        d_layers.append(nn.LeakyReLU(0.2, True))
        c_in = out
    d_layers += [nn.Conv2d(c_in, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    return nn.Sequential(*g_layers), nn.Sequential(*d_layers)


def bench(image, batch=64, repeats=7):
    G, D = make(image)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    crit = nn.BCELoss()
    real = torch.rand(batch, 3, image, image) * 2 - 1
    ones, zeros = torch.ones(batch), torch.zeros(batch)

    def iteration():
        z = torch.randn(batch, 100, 1, 1)
        D.zero_grad()
        fake = G(z)
        err_d = crit(D(real).view(-1), ones) + crit(D(fake.detach()).view(-1), zeros)
        err_d.backward()
        opt_d.step()
        G.zero_grad()
        err_g = crit(D(fake).view(-1), ones)
        err_g.backward()
        opt_g.step()

    iteration()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        iteration()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


if __name__ == "__main__":
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    for image in (32, 64):
        s = bench(image)
        print(f"pytorch dcgan iteration {image}x{image} batch 64: {s * 1000:.1f} ms ({64 / s:.1f} images/s)")
    sys.stdout.flush()
