#!/usr/bin/python3
"""peer_train_steps.py: the PyTorch peer of bench_train_steps.cpp: one training
step (forward, backward, optimizer steps) of each of loom's five models at the
same sizes, with the same losses and optimizers, on the CPU with 2 threads
(torch.set_num_threads(2)), or with --device cuda on cuda:0. Timed as loom is:
2 warm-up steps, then the median wall time of --reps single steps (default 5;
3 with --quick), each from a synchronized device to a synchronized device.

  --device cuda   networks moved to cuda:0 before the optimizers are made, inputs
                  and noise created there; float32 with TF32 OFF (matmul and cuDNN),
                  as loom computes by default; cudnn.benchmark left off (the default).
                  Without a usable GPU: says so, writes {"skipped": why} to --json
                  and exits 0.
  --tf32          (cuda) also time every model with TF32 ON (PyTorch's cuDNN default):
                  extra results with "precision": "tf32".

  dcgan      64x64x3, nz 100, width 64, batch 64          Adam 2e-4 (0.5, 0.999), D step then G step
  cgan_gram  as dcgan, G input [z, c], projection D, condition 128 from the
             standardised upper-triangle Gram matrices of fixed random conv
             features (16/32/64 ch, kernels 3/5/7) of a defect-free patch
  fusion     128x128x3, pix2pix U-Net depth 7 width 64 (batch norm, dropout),
             70x70 PatchGAN on cat(x, y), GAN + 100 L1, batch 8
  wae        64x64x3, latent 64, width 64, 0.05 sum-SE + 10 MMD-IMQ, batch 64, Adam 1e-3
  unet       128x128x3 -> 1, width 64, depth 4, BCE + Dice, batch 4, Adam 1e-3

It also counts each step's convolution and linear FLOPs by formula (forward
hooks; 2 flops per multiply-add; a layer call costs its forward, plus the same
again for the weight gradient when the weight requires grad and for the input
gradient when its input does; normalisation, activations, losses and optimizer
updates are not counted) and the trainable parameters (the run script checks
them against loom's). --json FILE writes everything (used by run_train_bench.sh).
Needs Debian's python3-torch with libopenblas0-pthread (scripts/setup.sh --bench)."""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MODELS = ["dcgan", "cgan_gram", "fusion", "wae", "unet"]
FULL_BATCH = {"dcgan": 64, "cgan_gram": 64, "fusion": 8, "wae": 64, "unet": 4}


DEVICE = torch.device("cpu")  # where the models and batches live (main() sets it)


def rand(*shape):
    return torch.rand(*shape, device=DEVICE)


def randn(*shape):
    return torch.randn(*shape, device=DEVICE)


def on_device(*nets):
    """Moves the networks to DEVICE (before their optimizers are made); returns them."""
    moved = [net.to(DEVICE) for net in nets]
    return moved[0] if len(moved) == 1 else moved


def synchronize():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def batch_for(model, quick):
    full = FULL_BATCH[model]
    return full if not quick else (8 if full >= 64 else 2)


def gan_adam(params):
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))


# ---- dcgan (models/dcgan.h) ----
def dcgan_generator(nz, width=64, nc=3, levels=4):
    layers, c_in, mult = [], nz, 1 << (levels - 1)
    for level in range(levels):
        out = width * mult
        layers += [nn.ConvTranspose2d(c_in, out, 4, 1 if level == 0 else 2, 0 if level == 0 else 1, bias=False),
                   nn.BatchNorm2d(out), nn.ReLU()]
        c_in, mult = out, mult // 2
    return nn.Sequential(*layers, nn.ConvTranspose2d(c_in, nc, 4, 2, 1, bias=False), nn.Tanh())


def dcgan_features(width=64, nc=3, levels=4):  # D up to its last LeakyReLU: (N, width 2^(levels-1), 4, 4)
    layers, c_in = [], nc
    for level in range(levels):
        out = width << level
        layers.append(nn.Conv2d(c_in, out, 4, 2, 1, bias=False))
        if level > 0:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.LeakyReLU(0.2))
        c_in = out
    return nn.Sequential(*layers), c_in


def gan_step(G, D, opt_g, opt_d, real, make_fake, judge, bce):
    """fake = G(...); D: errD = BCE(D(x), 1) + BCE(D(fake.detach()), 0); G: errG = BCE(D(fake), 1)."""
    fake = make_fake()
    opt_d.zero_grad(set_to_none=True)
    d_real = judge(real)
    d_fake = judge(fake.detach())
    err_d = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
    err_d.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    d_gen = judge(fake)
    err_g = bce(d_gen, torch.ones_like(d_gen))
    err_g.backward()
    opt_g.step()
    return err_d.item() + err_g.item()


def make_dcgan(batch):
    G = dcgan_generator(100)
    features, cf = dcgan_features()
    D = nn.Sequential(*features, nn.Conv2d(cf, 1, 4, 1, 0, bias=False), nn.Sigmoid())
    G, D = on_device(G, D)
    opt_g, opt_d = gan_adam(G.parameters()), gan_adam(D.parameters())
    real = rand(batch, 3, 64, 64) * 2 - 1
    step = lambda: gan_step(G, D, opt_g, opt_d, real, lambda: G(randn(batch, 100, 1, 1)), D, F.binary_cross_entropy)
    return "64x64x3, nz 100, width 64", [G, D], step


# ---- cgan_gram (models/cgan_gram.h, models/texture_features.h) ----
class RandomTextureFeatures(nn.Module):
    """Fixed conv 3x3 16, avg-pool 2, conv 5x5 32, avg-pool 2, conv 7x7 64, each + ReLU; g = triu of the Grams."""

    def __init__(self, channels=(16, 32, 64), kernels=(3, 5, 7), c_in=3):
        super().__init__()
        self.convs = nn.ModuleList()
        for c, k in zip(channels, kernels):
            conv = nn.Conv2d(c_in, c, k, padding=k // 2)
            conv.requires_grad_(False)
            self.convs.append(conv)
            c_in = c

    def condition_dim(self):
        return sum(c.out_channels * (c.out_channels + 1) // 2 for c in self.convs)

    def forward(self, x):
        parts = []
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(F.avg_pool2d(x, 2) if i > 0 else x))
            n, c, h, w = x.shape
            psi = x.reshape(n, c, h * w)
            gram = torch.bmm(psi, psi.transpose(1, 2)) / (c * h * w)  # (N, C, C)
            rows, cols = torch.triu_indices(c, c, device=x.device)
            parts.append(gram[:, rows, cols])
        return torch.cat(parts, 1)


class GramProjection(nn.Module):
    def __init__(self, gram_dim, cond):
        super().__init__()
        self.norm = nn.BatchNorm2d(gram_dim, affine=False)
        self.linear = nn.Linear(gram_dim, cond)

    def forward(self, g):
        n, d = g.shape
        return self.linear(self.norm(g.reshape(n, d, 1, 1)).reshape(n, d))


class CganGenerator(nn.Module):
    def __init__(self, gram_dim, nz=100, cond=128):
        super().__init__()
        self.condition, self.main = GramProjection(gram_dim, cond), dcgan_generator(nz + cond)

    def forward(self, z, g):
        c = self.condition(g)
        return self.main(torch.cat([z.reshape(z.shape[0], -1, 1, 1), c.reshape(c.shape[0], -1, 1, 1)], 1))


class CganDiscriminator(nn.Module):
    def __init__(self, gram_dim, cond=128):
        super().__init__()
        self.condition = GramProjection(gram_dim, cond)
        self.features, cf = dcgan_features()
        self.head = nn.Conv2d(cf, 1, 4, 1, 0, bias=False)
        self.embed = nn.Linear(cond, cf, bias=False)

    def forward(self, x, g):
        phi = self.features(x)
        v = self.embed(self.condition(g))
        return self.head(phi) + (v * phi.sum((2, 3))).sum(1).reshape(-1, 1, 1, 1)  # Miyato eq. 3, logits


def make_cgan_gram(batch):
    tf = RandomTextureFeatures()
    G, D = CganGenerator(tf.condition_dim()), CganDiscriminator(tf.condition_dim())
    tf, G, D = on_device(tf, G, D)
    opt_g, opt_d = gan_adam(G.parameters()), gan_adam(D.parameters())
    real = rand(batch, 3, 64, 64) * 2 - 1
    patch = rand(batch, 3, 64, 64) * 2 - 1
    state = {}

    def make_fake():
        with torch.no_grad():
            state["g"] = tf(patch)  # the condition of the defect-free patches, computed each step
        return G(randn(batch, 100), state["g"])

    step = lambda: gan_step(G, D, opt_g, opt_d, real, make_fake, lambda x: D(x, state["g"]),
                            F.binary_cross_entropy_with_logits)
    return "64x64x3, nz 100, width 64, cond 128, random Gram features", [G, D], step


# ---- fusion: pix2pix U-Net generator + PatchGAN (models/fusion.h, models/patchgan.h) ----
class UnetBlock(nn.Module):
    """pix2pix's UnetSkipConnectionBlock with batch norm (no conv bias except the outermost up)."""

    def __init__(self, outer, inner, c_in=None, sub=None, outermost=False, innermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        down = [nn.Conv2d(c_in or outer, inner, 4, 2, 1, bias=False)]
        if outermost:
            model = down + [sub, nn.ReLU(), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            model = [nn.LeakyReLU(0.2)] + down + [nn.ReLU(), nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False),
                                                  nn.BatchNorm2d(outer)]
        else:
            model = [nn.LeakyReLU(0.2)] + down + [nn.BatchNorm2d(inner), sub, nn.ReLU(),
                                                  nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False),
                                                  nn.BatchNorm2d(outer)] + ([nn.Dropout(0.5)] if dropout else [])
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


def unet_generator(c_in, c_out, depth, w):
    block = UnetBlock(w * 8, w * 8, innermost=True)
    for _ in range(depth - 5):
        block = UnetBlock(w * 8, w * 8, sub=block, dropout=True)
    block = UnetBlock(w * 4, w * 8, sub=block)
    block = UnetBlock(w * 2, w * 4, sub=block)
    block = UnetBlock(w, w * 2, sub=block)
    return UnetBlock(c_out, w, c_in=c_in, sub=block, outermost=True)


def patch_discriminator(c_in=6, w=64):
    return nn.Sequential(
        nn.Conv2d(c_in, w, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * w), nn.LeakyReLU(0.2),
        nn.Conv2d(4 * w, 8 * w, 4, 1, 1, bias=False), nn.BatchNorm2d(8 * w), nn.LeakyReLU(0.2),
        nn.Conv2d(8 * w, 1, 4, 1, 1))


def make_fusion(batch):
    G, D = on_device(unet_generator(3, 3, 7, 64), patch_discriminator())
    opt_g, opt_d = gan_adam(G.parameters()), gan_adam(D.parameters())
    x = rand(batch, 3, 128, 128) * 2 - 1
    y = rand(batch, 3, 128, 128) * 2 - 1
    bce = F.binary_cross_entropy_with_logits

    def step():
        fake = G(x)
        opt_d.zero_grad(set_to_none=True)
        p_fake = D(torch.cat([x, fake.detach()], 1))  # pix2pix order: fake pair first
        p_real = D(torch.cat([x, y], 1))
        loss_d = 0.5 * (bce(p_fake, torch.zeros_like(p_fake)) + bce(p_real, torch.ones_like(p_real)))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        p = D(torch.cat([x, fake], 1))  # D's gradients are computed too, as in loom
        loss_g = bce(p, torch.ones_like(p)) + 100.0 * F.l1_loss(fake, y)
        loss_g.backward()
        opt_g.step()
        return loss_d.item() + loss_g.item()

    return "128x128x3, U-Net depth 7 width 64, PatchGAN 70x70 width 64", [G, D], step


# ---- wae (models/wae.h) ----
def wae_networks(c=3, latent=64, w=64, stages=4):
    ch = [w * min(1 << i, 8) for i in range(stages)]
    enc, c_in = [], c
    for out in ch:
        enc += [nn.Conv2d(c_in, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
        c_in = out
    encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(ch[-1] * 16, latent))
    dec = [nn.BatchNorm2d(ch[-1]), nn.ReLU()]
    for i in range(stages - 1, 0, -1):
        dec += [nn.ConvTranspose2d(ch[i], ch[i - 1], 4, 2, 1, bias=False), nn.BatchNorm2d(ch[i - 1]), nn.ReLU()]
    decoder = nn.Sequential(*dec, nn.ConvTranspose2d(ch[0], c, 4, 2, 1), nn.Sigmoid())
    return encoder, nn.Linear(latent, ch[-1] * 16), decoder


def mmd_imq(z, p, sigma2=1.0, scales=(0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)):
    """WAE-MMD (Algorithm 2) with k(x, y) = C / (C + |x - y|^2), C = 2 d sigma2 s, summed over s."""
    n, d = z.shape
    off = 1.0 - torch.eye(n, device=z.device)
    dzz, dpp, dzp = torch.cdist(z, z) ** 2, torch.cdist(p, p) ** 2, torch.cdist(z, p) ** 2
    total = 0.0
    for s in scales:
        C = 2.0 * d * sigma2 * s
        total = total + ((C / (C + dzz) + C / (C + dpp)) * off).sum() / (n * (n - 1)) - 2.0 * (C / (C + dzp)).sum() / n**2
    return total


def make_wae(batch):
    encoder, project, decoder = on_device(*wae_networks())
    nets = [encoder, project, decoder]
    opt = torch.optim.Adam([q for m in nets for q in m.parameters()], lr=1e-3)
    x = rand(batch, 3, 64, 64)

    def step():
        opt.zero_grad(set_to_none=True)
        z = encoder(x)
        x_hat = decoder(project(z).reshape(batch, -1, 4, 4))
        rec = F.mse_loss(x_hat, x) * (3 * 64 * 64 * 0.05)
        loss = rec + 10.0 * mmd_imq(z, randn(batch, z.shape[1]))
        loss.backward()
        opt.step()
        return loss.item()

    return "64x64x3, latent 64, width 64", nets, step


# ---- unet (models/unet.h) ----
def double_conv(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class UNet(nn.Module):
    def __init__(self, c_in=3, c_out=1, w=64, depth=4):
        super().__init__()
        self.inc = double_conv(c_in, w)
        self.downs = nn.ModuleList(nn.Sequential(nn.MaxPool2d(2), double_conv(w << (i - 1), w << i))
                                   for i in range(1, depth + 1))
        self.ups = nn.ModuleList(nn.ConvTranspose2d(w << (depth - i + 1), w << (depth - i), 2, 2) for i in range(1, depth + 1))
        self.up_convs = nn.ModuleList(double_conv(w << (depth - i + 1), w << (depth - i)) for i in range(1, depth + 1))
        self.outc = nn.Conv2d(w, c_out, 1)

    def forward(self, x):
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        h = skips[-1]
        for i, (up, conv) in enumerate(zip(self.ups, self.up_convs)):
            h = conv(torch.cat([skips[-2 - i], up(h)], 1))
        return self.outc(h)


def make_unet(batch):
    model = on_device(UNet())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = rand(batch, 3, 128, 128)
    masks = (rand(batch, 1, 128, 128) < 0.1).float()

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        p = torch.sigmoid(logits)
        dims = (1, 2, 3)
        dice = (1 - (2 * (p * masks).sum(dims) + 1) / (p.sum(dims) + masks.sum(dims) + 1)).mean()
        loss = F.binary_cross_entropy_with_logits(logits, masks) + dice
        loss.backward()
        opt.step()
        return loss.item()

    return "128x128x3 -> 1, width 64, depth 4", [model], step


BUILDERS = {"dcgan": make_dcgan, "cgan_gram": make_cgan_gram, "fusion": make_fusion, "wae": make_wae, "unet": make_unet}


def count_step_flops(nets, step):
    """Runs one step with forward hooks on every Conv2d / ConvTranspose2d / Linear and returns its FLOPs."""
    total = [0.0]

    def hook(module, inputs, output):
        x = inputs[0]
        if isinstance(module, nn.Conv2d):
            macs = output.numel() * (module.in_channels // module.groups) * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, nn.ConvTranspose2d):
            macs = x.numel() * (module.out_channels // module.groups) * module.kernel_size[0] * module.kernel_size[1]
        else:  # Linear
            macs = output.numel() * module.in_features
        passes = 1
        if torch.is_grad_enabled():
            passes += int(module.weight.requires_grad) + int(x.requires_grad)
        total[0] += 2.0 * macs * passes

    handles = [m.register_forward_hook(hook) for net in nets for m in net.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    step()
    for h in handles:
        h.remove()
    return total[0]


def set_tf32(on):
    """TF32 for matmul and cuDNN convolutions (PyTorch's cuDNN default is on; loom's default is off)."""
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def bench(model, batch, reps, precision="fp32"):
    torch.manual_seed(1)
    size, nets, step = BUILDERS[model](batch)
    params = sum(q.numel() for net in nets for q in net.parameters() if q.requires_grad)
    for _ in range(2):  # warm-up (allocations, oneDNN primitives / cuDNN handles)
        step()
    flops = count_step_flops(nets, step)
    times = []
    for _ in range(reps):
        synchronize()
        t = time.perf_counter()
        step()
        synchronize()
        times.append(time.perf_counter() - t)
    return {"model": model, "size": size, "batch": batch, "ms": statistics.median(times) * 1e3,
            "times_ms": [t * 1e3 for t in times], "params": params, "gflop": flops * 1e-9,
            "device": DEVICE.type, "precision": precision}


def cuda_unavailable_reason():
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} sees no CUDA device (torch.cuda.is_available() is False)"
    return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="batch 8 or 2 and 3 repetitions: a check, not a measurement")
    ap.add_argument("--reps", type=int, help="timed steps per model (median); default 5, 3 with --quick")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS))
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cpu (2 threads) or cuda (cuda:0)")
    ap.add_argument("--tf32", action="store_true", help="with --device cuda: also time each model with TF32 on")
    args = ap.parse_args()
    global DEVICE
    reps = args.reps or (3 if args.quick else 5)
    info = {"torch": torch.__version__, "device": args.device, "reps": reps}
    if args.device == "cuda":
        why = cuda_unavailable_reason()
        if why:
            print(f"peer_train_steps.py: skipped: {why}")
            if args.json:
                with open(args.json, "w") as f:
                    json.dump({**info, "skipped": why, "results": []}, f, indent=1)
            return 0
        DEVICE = torch.device("cuda", 0)
        info["gpu"] = torch.cuda.get_device_name(DEVICE)
        info["cudnn_benchmark"] = torch.backends.cudnn.benchmark
        precisions = ["fp32", "tf32"] if args.tf32 else ["fp32"]
        print(f"PyTorch {torch.__version__} on {info['gpu']}, float32 ({', '.join(precisions)}), median of {reps} steps")
    else:
        torch.set_num_threads(2)
        info["threads"] = torch.get_num_threads()
        precisions = ["fp32"]
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, float32, median of {reps} steps")
    results = []
    for precision in precisions:
        if args.device == "cuda":
            set_tf32(precision == "tf32")
        for model in args.models.split(","):
            r = bench(model, batch_for(model, args.quick), reps, precision)
            results.append(r)
            print(f"{model:10s} {precision} batch {r['batch']:3d} {r['ms']:10.1f} ms/step "
                  f"{r['batch'] / r['ms'] * 1e3:8.2f} images/s {r['gflop']:8.1f} GFLOP/step "
                  f"{r['params'] / 1e6:8.3f} M params  ({r['size']})", flush=True)
            if args.json:  # rewritten after each model: a run stopped by a time box keeps what it measured
                with open(args.json, "w") as f:
                    json.dump({**info, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
