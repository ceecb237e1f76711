"""dcgan_torch_names.py: the state_dict of PyTorch's classic DCGAN networks
(examples/dcgan/main.py, the nn.Sequential inside `main`), one line per entry:
    <net> <name> <dtype> <dim0>x<dim1>...
for G and D built for the given sizes. tests/models/test_dcgan.cpp compares
loom's models::dcgan_generator / dcgan_discriminator with it.

usage: /usr/bin/python3 dcgan_torch_names.py NZ NGF NDF NC IMAGE SIGMOID(0|1) [NZ ...]
Each group of six numbers is one case; each case starts with a line "case".
"""
import sys

import torch.nn as nn


def generator(nz, ngf, nc, stages):
    c = ngf * 2 ** (stages - 1)
    layers = [nn.ConvTranspose2d(nz, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
    for _ in range(stages - 1):
        layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
        c //= 2
    layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(ndf, nc, stages, sigmoid):
    c = ndf
    layers = [nn.Conv2d(nc, c, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    for _ in range(stages - 1):
        layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2, inplace=True)]
        c *= 2
    layers += [nn.Conv2d(c, 1, 4, 1, 0, bias=False)]
    if sigmoid:
        layers += [nn.Sigmoid()]
    return nn.Sequential(*layers)


def print_case(nz, ngf, ndf, nc, image, sigmoid):
    print("case")
    stages = 0
    while (4 << stages) < image:
        stages += 1
    assert (4 << stages) == image and stages >= 1, image
    for net, model in (("G", generator(nz, ngf, nc, stages)), ("D", discriminator(ndf, nc, stages, sigmoid))):
        for name, t in model.state_dict().items():
            dtype = str(t.dtype).replace("torch.", "")
            print(net, name, dtype, "x".join(str(d) for d in t.shape) or "scalar")


def main():
    numbers = [int(a) for a in sys.argv[1:]]
    assert numbers and len(numbers) % 6 == 0, "expected groups of NZ NGF NDF NC IMAGE SIGMOID"
    for i in range(0, len(numbers), 6):
        print_case(*numbers[i:i + 6])


main()
