# pix2pix_reference.py: PyTorch's pix2pix generator and discriminator
# (UnetGenerator / UnetSkipConnectionBlock / NLayerDiscriminator of
# junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py, restated), used to
# obtain the reference parameter counts that tests/models/test_fusion.cpp
# checks loom's FusionGenerator and PatchDiscriminator against.
#   /usr/bin/python3 tests/models/pix2pix_reference.py
import functools

import torch
import torch.nn as nn


def norm_layer(kind):
    if kind == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)


class UnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False,
                 norm=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        use_bias = norm.func == nn.InstanceNorm2d
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            model = [downconv] + [submodule] + [uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv] + [uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, downnorm] + [submodule] + [uprelu, upconv, upnorm]
            if use_dropout:
                model += [nn.Dropout(0.5)]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class Wrapped(nn.Module):
    """UnetGenerator and NLayerDiscriminator both keep their network as self.model."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)


def unet(input_nc, output_nc, num_downs, ngf, kind, use_dropout=True):
    norm = norm_layer(kind)
    block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
    for _ in range(num_downs - 5):
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, use_dropout=use_dropout)
    block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block, norm=norm)
    block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block, norm=norm)
    block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block, norm=norm)
    return Wrapped(UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True,
                                           norm=norm))


def n_layer_discriminator(input_nc, ndf, n_layers, kind):
    norm = norm_layer(kind)
    use_bias = norm.func == nn.InstanceNorm2d
    seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers):
        prev, mult = mult, min(2 ** n, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=use_bias), norm(ndf * mult), nn.LeakyReLU(0.2, True)]
    prev, mult = mult, min(2 ** n_layers, 8)
    seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=use_bias), norm(ndf * mult), nn.LeakyReLU(0.2, True)]
    seq += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
    return Wrapped(nn.Sequential(*seq))


def count(m):
    return sum(p.numel() for p in m.parameters())


if __name__ == "__main__":
    for args in [(3, 3, 8, 64, "batch"), (3, 3, 7, 64, "batch"), (4, 1, 6, 16, "instance"), (6, 3, 8, 16, "batch")]:
        print("unet", args, count(unet(*args)))
    for args in [(6, 64, 3, "batch"), (4, 16, 3, "instance"), (2, 8, 2, "batch")]:
        print("patchgan", args, count(n_layer_discriminator(*args)))
    d = n_layer_discriminator(6, 64, 3, "batch")
    print("patchgan 256 ->", tuple(d(torch.zeros(1, 6, 256, 256)).shape))
    print("patchgan state_dict", [k for k in d.state_dict().keys()][:8])
