#!/usr/bin/python3
"""fusion_torch.py: the PyTorch side of the FusionTorch tests in
tests/models/test_fusion.cpp. Builds pix2pix's UnetGenerator and
NLayerDiscriminator (pix2pix_reference.py), loads the state dicts that loom
wrote under PyTorch's names with load_state_dict(strict=True), and runs them.

  run DEPTH WIDTH IN OUT NORM MODELS IO OUT
    MODELS holds "G.<pytorch name>" and "D.<pytorch name>" tensors; IO holds x
    (N, IN, H, W) and y (N, OUT, H, W). Writes to OUT:
      g_eval   G(x) in eval mode
      g_train  G(x) in training mode (batch statistics; no dropout at this depth
               or dropout off on both sides)
      d_eval   D(cat(x, y)) in eval mode
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nn"))
import safetensors_io  # noqa: E402
from pix2pix_reference import n_layer_discriminator, unet  # noqa: E402


def load_prefixed(model, tensors, prefix):
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    model.load_state_dict(state, strict=True)


def main():
    cmd, depth, width, in_nc, out_nc, norm, models_path, io_path, out_path = sys.argv[1:]
    assert cmd == "run"
    depth, width, in_nc, out_nc = int(depth), int(width), int(in_nc), int(out_nc)
    torch.set_default_dtype(torch.float32)
    tensors, _ = safetensors_io.load(models_path)
    io, _ = safetensors_io.load(io_path)
    G = unet(in_nc, out_nc, depth, width, norm, use_dropout=False)
    load_prefixed(G, tensors, "G.")
    D = n_layer_discriminator(in_nc + out_nc, width, 3, norm)
    load_prefixed(D, tensors, "D.")
    x, y = io["x"], io["y"]
    with torch.no_grad():
        G.eval()
        g_eval = G(x)
        G.train()
        g_train = G(x)
        D.eval()
        d_eval = D(torch.cat([x, y], 1))
    safetensors_io.save(out_path, {"g_eval": g_eval, "g_train": g_train, "d_eval": d_eval})


if __name__ == "__main__":
    main()
