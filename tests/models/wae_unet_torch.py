#!/usr/bin/python3
"""wae_unet_torch.py: the PyTorch side of the UNetTorch and WaeTorch tests in
tests/models/test_unet.cpp and test_wae.cpp. Restates loom's U-Net
(models/unet.h) and WAE (models/wae.h) in torch.nn with the same state-dict
names, loads the weights loom wrote with load_state_dict(strict=True) and runs
them on loom's input.

  unet IN OUT WIDTH DEPTH UP(transposed|bilinear) HEAD(0|1) MODELS IO OUT
  wae  SIZE CHANNELS LATENT WIDTH OUTPUT(sigmoid|tanh) MODELS IO OUT
    MODELS holds the state dict; IO holds x. Writes to OUT:
      eval, train          the output (mask logits / reconstruction) in eval and training mode
      class_eval           the class logit in eval mode (unet with the head)
      z_eval               the code in eval mode (wae)
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nn"))
import safetensors_io  # noqa: E402


# ---- U-Net ----------------------------------------------------------------------------
def double_conv(i, o):
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(),
                         nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())


class Up(nn.Module):
    def __init__(self, i, o, bilinear):
        super().__init__()
        if bilinear:
            self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                    nn.Conv2d(i, o, 1))
        else:
            self.up = nn.Sequential(nn.ConvTranspose2d(i, o, 2, stride=2))
        self.conv = double_conv(2 * o, o)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, self.up(x)], 1))


class UNet(nn.Module):
    def __init__(self, in_nc, out_nc, w, depth, bilinear, head):
        super().__init__()
        self.depth = depth
        self.inc = double_conv(in_nc, w)
        for i in range(1, depth + 1):
            setattr(self, f"down{i}", nn.Sequential(nn.MaxPool2d(2), double_conv(w << (i - 1), w << i)))
        for i in range(1, depth + 1):
            setattr(self, f"up{i}", Up(w << (depth - i + 1), w << (depth - i), bilinear))
        self.outc = nn.Conv2d(w, out_nc, 1)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w << depth, 1)) if head else None

    def forward(self, x):
        skips = [self.inc(x)]
        for i in range(1, self.depth + 1):
            skips.append(getattr(self, f"down{i}")(skips[-1]))
        h = skips[-1]
        for i in range(1, self.depth + 1):
            h = getattr(self, f"up{i}")(h, skips[-2 - (i - 1)])
        return self.outc(h), (self.classifier(skips[-1]) if self.classifier is not None else None)


# ---- WAE ------------------------------------------------------------------------------
def stage_channels(w, i):
    return w << min(i, 3)


class Encoder(nn.Module):
    def __init__(self, size, c, d, w):
        super().__init__()
        stages = (size // 4).bit_length() - 1
        layers, i_c = [], c
        for i in range(stages):
            o = stage_channels(w, i)
            layers += [nn.Conv2d(i_c, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
            i_c = o
        layers += [nn.Flatten(), nn.Linear(i_c * 16, d)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class Decoder(nn.Module):
    def __init__(self, size, c, d, w, output):
        super().__init__()
        stages = (size // 4).bit_length() - 1
        self.deepest = stage_channels(w, stages - 1)
        self.project = nn.Linear(d, self.deepest * 16)
        layers = [nn.BatchNorm2d(self.deepest), nn.ReLU()]
        for i in range(stages - 1, 0, -1):
            o = stage_channels(w, i - 1)
            layers += [nn.ConvTranspose2d(stage_channels(w, i), o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
        layers += [nn.ConvTranspose2d(stage_channels(w, 0), c, 4, 2, 1), nn.Sigmoid() if output == "sigmoid" else nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z):
        return self.body(self.project(z).reshape(z.shape[0], self.deepest, 4, 4))


class Wae(nn.Module):
    def __init__(self, size, c, d, w, output):
        super().__init__()
        self.encoder = Encoder(size, c, d, w)
        self.decoder = Decoder(size, c, d, w, output)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def main():
    kind, *args = sys.argv[1:]
    models_path, io_path, out_path = args[-3:]
    state, _ = safetensors_io.load(models_path)
    x = safetensors_io.load(io_path)[0]["x"]
    out = {}
    if kind == "unet":
        in_nc, out_nc, w, depth = (int(a) for a in args[:4])
        model = UNet(in_nc, out_nc, w, depth, args[4] == "bilinear", args[5] == "1")
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            model.eval()
            out["eval"], class_eval = model(x)
            if class_eval is not None:
                out["class_eval"] = class_eval
            model.train()
            out["train"] = model(x)[0]
    else:
        size, c, d, w = (int(a) for a in args[:4])
        model = Wae(size, c, d, w, args[4])
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            model.eval()
            out["eval"] = model(x)
            out["z_eval"] = model.encoder(x)
            model.train()
            out["train"] = model(x)
    safetensors_io.save(out_path, out)


if __name__ == "__main__":
    main()
