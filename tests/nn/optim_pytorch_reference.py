"""optim_pytorch_reference.py: PyTorch's side of tests/nn/test_optim_pytorch.cpp.

Usage: /usr/bin/python3 optim_pytorch_reference.py IN.safetensors OUT.safetensors

IN holds, for each optimizer configuration <c>: "<c>.param" [n] and "<c>.grads" [steps, n]
(float64), and the metadata key "<c>" = JSON {"optimizer": "SGD" | "Adam" | "AdamW", "kwargs": {...}};
the metadata key "schedules" = JSON list of {"name", "kind", "base_lr", "kwargs", "steps"}; and
"clip.<i>" gradients with the metadata key "clip_max_norm".
OUT gets "<c>.after" [steps, n] (the parameter after each step), "<name>.lr" [steps] (the
learning rate used at each step), "clip.total" [1] and "clip.<i>" (the clipped gradients),
all float64, computed by torch.optim / torch.nn.utils in float64.
"""
import json
import sys

import torch

import safetensors_io


def load(path):
    """The tensors as float64, and the metadata."""
    tensors, meta = safetensors_io.load(path)
    return {name: t.to(torch.float64) for name, t in tensors.items()}, meta


def save(path, tensors):
    safetensors_io.save(path, {name: t.detach().to(torch.float64) for name, t in tensors.items()})


def run_optimizer(spec, param0, grads):
    p = param0.clone().requires_grad_()
    opt = getattr(torch.optim, spec["optimizer"])([p], **spec["kwargs"])
    after = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        after.append(p.detach().clone())
    return torch.stack(after)


def pix2pix_rule(n_const, n_decay):
    # pix2pix networks.get_scheduler, lr_policy 'linear', epoch_count 1
    return lambda epoch: 1.0 - max(0, epoch + 1 - n_const) / float(n_decay + 1)


def run_schedule(s):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=s["base_lr"])
    kw = s["kwargs"]
    if s["kind"] == "linear":
        sched = torch.optim.lr_scheduler.LambdaLR(opt, pix2pix_rule(kw["n_const"], kw["n_decay"]))
    else:
        sched = getattr(torch.optim.lr_scheduler, s["kind"])(opt, **kw)
    lrs = []
    for _ in range(s["steps"]):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(lrs, dtype=torch.float64)


def main():
    tensors, meta = load(sys.argv[1])
    torch.set_default_dtype(torch.float64)
    out = {}
    for key, value in meta.items():
        if key in ("schedules", "clip_max_norm"):
            continue
        out[key + ".after"] = run_optimizer(json.loads(value), tensors[key + ".param"], tensors[key + ".grads"])
    for s in json.loads(meta["schedules"]):
        out[s["name"] + ".lr"] = run_schedule(s)
    clip_names = sorted(k for k in tensors if k.startswith("clip."))
    params = []
    for name in clip_names:
        p = torch.zeros_like(tensors[name], requires_grad=True)
        p.grad = tensors[name].clone()
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, float(meta["clip_max_norm"]))
    out["clip.total"] = total.reshape(1)
    for name, p in zip(clip_names, params):
        out[name] = p.grad
    save(sys.argv[2], out)


if __name__ == "__main__":
    main()
