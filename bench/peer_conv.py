#!/usr/bin/python3
"""peer_conv.py: the PyTorch peer of bench_conv.cpp: F.conv2d and
F.conv_transpose2d at the DCGAN 64x64 layer shapes (batch 64, float32, CPU,
torch.set_num_threads(2)), forward and the two backward passes through autograd:

  fwd  y = F.conv*(x, W) under no_grad
  dx   torch.autograd.grad(y, x, g)   (only the input gradient is computed)
  dW   torch.autograd.grad(y, W, g)   (only the weight gradient is computed)

Prints the median milliseconds of repeated calls (after one warm-up call; at
least 3 calls and 0.3 s per pass) and GFLOP/s with the same flop
count as bench_conv.cpp; with --json FILE also writes them as JSON (used by
run_conv_bench.sh). Needs Debian's python3-torch (and libopenblas0-pthread)."""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(1)

BATCH = 64
# name, transposed, in_channels, out_channels, input size, kernel, stride, padding
LAYERS = [
    ("G1_100x1x1_to_512x4x4", True, 100, 512, 1, 4, 1, 0),
    ("G2_512x4x4_to_256x8x8", True, 512, 256, 4, 4, 2, 1),
    ("G3_256x8x8_to_128x16x16", True, 256, 128, 8, 4, 2, 1),
    ("G4_128x16x16_to_64x32x32", True, 128, 64, 16, 4, 2, 1),
    ("G5_64x32x32_to_3x64x64", True, 64, 3, 32, 4, 2, 1),
    ("D1_3x64x64_to_64x32x32", False, 3, 64, 64, 4, 2, 1),
    ("D2_64x32x32_to_128x16x16", False, 64, 128, 32, 4, 2, 1),
    ("D3_128x16x16_to_256x8x8", False, 128, 256, 16, 4, 2, 1),
    ("D4_256x8x8_to_512x4x4", False, 256, 512, 8, 4, 2, 1),
    ("D5_512x4x4_to_1x1x1", False, 512, 1, 4, 4, 1, 0),
]


def out_size(transposed, h, k, s, p):
    return (h - 1) * s - 2 * p + k if transposed else (h + 2 * p - k) // s + 1


def flops(transposed, ic, oc, h, k, s, p):
    taps = ic * oc * k * k
    if transposed:
        return 2.0 * BATCH * h * h * taps  # every input pixel spreads the kernel
    o = out_size(False, h, k, s, p)
    return 2.0 * BATCH * o * o * taps


def median_ms(fn, min_seconds=0.3, min_repeats=3, max_repeats=50):
    fn()  # warm-up (allocations, oneDNN primitive creation)
    times = []
    start = time.perf_counter()
    while len(times) < min_repeats or (time.perf_counter() - start < min_seconds and len(times) < max_repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    results = []
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, float32, batch {BATCH}")
    for name, transposed, ic, oc, h, k, s, p in LAYERS:
        o = out_size(transposed, h, k, s, p)
        x = torch.randn(BATCH, ic, h, h)
        w = torch.randn(*((ic, oc, k, k) if transposed else (oc, ic, k, k))) * 0.02
        g = torch.randn(BATCH, oc, o, o)
        conv = F.conv_transpose2d if transposed else F.conv2d
        op = "conv_transpose2d" if transposed else "conv2d"

        def fwd():
            with torch.no_grad():
                return conv(x, w, None, s, p)

        xr = x.clone().requires_grad_()
        wr = w.clone().requires_grad_()
        y_x = conv(xr, w, None, s, p)   # graph where only x needs a gradient
        y_w = conv(x, wr, None, s, p)   # graph where only W needs a gradient
        assert tuple(y_x.shape) == (BATCH, oc, o, o)

        def dx():
            return torch.autograd.grad(y_x, xr, g, retain_graph=True)

        def dw():
            return torch.autograd.grad(y_w, wr, g, retain_graph=True)

        fl = flops(transposed, ic, oc, h, k, s, p)
        for pass_name, fn in (("fwd", fwd), ("dx", dx), ("dW", dw)):
            ms = median_ms(fn)
            gf = fl / (ms * 1e-3) * 1e-9
            results.append({"name": f"{op}/{name}/{pass_name}", "ms": ms, "gflops": gf})
            print(f"{op}/{name}/{pass_name:4s} {ms:9.3f} ms {gf:8.1f} GFLOP/s", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
