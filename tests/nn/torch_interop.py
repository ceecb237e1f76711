#!/usr/bin/python3
"""torch_interop.py: the PyTorch side of tests/nn/test_torch_interop.cpp.

Builds the PyTorch twin of the loom model in that test, and moves state dicts
between the two through safetensors files. The `safetensors` package is not
installed here, so load_file/save_file below stand in for
safetensors.torch's, over tests/nn/safetensors_io.py (the format, with the
checks of the reference implementation).

Commands (exit status 0 on success; any problem raises and exits non-zero):
  load-and-run MODEL INPUT OUTPUT
      torch model <- MODEL with load_state_dict(strict=True), after checking that
      every tensor's dtype and shape equal the torch model's; eval mode; runs
      INPUT's "x" and writes {"y": output} to OUTPUT.
  make-and-run SEED MODEL IO
      torch model with torch.manual_seed(SEED) init, random affine batch-norm
      parameters and running statistics moved by two training batches; writes
      its state_dict (num_batches_tracked included, int64) to MODEL and
      {"x": input, "y": eval output} to IO.
"""
import sys

import torch
from torch import nn

import safetensors_io


def build_model():
    """The twin of make_interop_model() in test_torch_interop.cpp:
    (N, 3, 8, 8) -> (N, 5). Keep the two in step."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 4, stride=2, padding=1, bias=False),  # (N, 8, 4, 4)
        nn.BatchNorm2d(8),
        nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1),  # (N, 4, 8, 8)
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 2, 3, stride=1, padding=1),  # (N, 2, 8, 8)
        nn.Tanh(),
        nn.Flatten(),  # (N, 128)
        nn.Linear(2 * 8 * 8, 5),  # (N, 5)
        nn.Sigmoid(),
    )


def load_file(path):
    """What safetensors.torch.load_file returns."""
    return safetensors_io.load(path)[0]


def save_file(tensors, path):
    """safetensors.torch.save_file: the tensors sorted by name."""
    safetensors_io.save(path, dict(sorted(tensors.items())))


def load_strict(model, state):
    """model.load_state_dict(state, strict=True), but first refuse any dtype or
    shape difference (load_state_dict would convert dtypes silently)."""
    own = model.state_dict()
    for name, value in state.items():
        if name in own and (own[name].dtype != value.dtype or own[name].shape != value.shape):
            raise ValueError(f"{name}: file has {value.dtype} {list(value.shape)}, "
                             f"torch model has {own[name].dtype} {list(own[name].shape)}")
    model.load_state_dict(state, strict=True)


def load_and_run(model_path, input_path, output_path):
    model = build_model()
    load_strict(model, load_file(model_path))
    model.eval()
    with torch.no_grad():
        y = model(load_file(input_path)["x"])
    save_file({"y": y}, output_path)


def make_and_run(seed, model_path, io_path):
    torch.manual_seed(seed)
    model = build_model()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
        model.train()
        for _ in range(2):  # running statistics and num_batches_tracked move
            model(torch.randn(4, 3, 8, 8) * 2 + 0.5)
        model.eval()
        x = torch.randn(2, 3, 8, 8)
        y = model(x)
    save_file(model.state_dict(), model_path)
    save_file({"x": x, "y": y}, io_path)


def main(argv):
    torch.set_num_threads(1)
    if argv[1] == "load-and-run":
        load_and_run(argv[2], argv[3], argv[4])
    elif argv[1] == "make-and-run":
        make_and_run(int(argv[2]), argv[3], argv[4])
    else:
        raise SystemExit(f"unknown command {argv[1]!r}")


if __name__ == "__main__":
    main(sys.argv)
