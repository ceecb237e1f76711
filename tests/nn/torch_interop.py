#!/usr/bin/python3
"""torch_interop.py: the PyTorch side of tests/nn/test_torch_interop.cpp.

Builds the PyTorch twin of the loom model in that test, and moves state dicts
between the two through safetensors files. The `safetensors` package is not
installed here, so load_file/save_file below implement the format directly
(8-byte little-endian header length, JSON header, raw little-endian data),
with the checks of the reference implementation: every byte range inside the
data section, sized numel * element size, no overlaps, no gaps, nothing
trailing. load_file returns what safetensors.torch.load_file returns.

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
import json
import struct
import sys

import torch
from torch import nn

DTYPES = {
    "F32": torch.float32,
    "F64": torch.float64,
    "I64": torch.int64,
    "I32": torch.int32,
    "U8": torch.uint8,
    "BOOL": torch.bool,
    "F16": torch.float16,
}
NAMES = {dtype: name for name, dtype in DTYPES.items()}


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
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header of {n} bytes runs past the end")
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    header.pop("__metadata__", None)
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"])
    cursor = 0
    out = {}
    for name, info in entries:
        dtype = DTYPES[info["dtype"]]
        shape = info["shape"]
        begin, end = info["data_offsets"]
        numel = 1
        for s in shape:
            numel *= s
        size = numel * torch.empty((), dtype=dtype).element_size()
        if begin != cursor or end - begin != size or end > len(data):
            raise ValueError(f"{path}: tensor {name}: bad data_offsets {[begin, end]} (expected start {cursor}, "
                             f"size {size}, data section {len(data)} bytes)")
        cursor = end
        if numel == 0:
            out[name] = torch.empty(shape, dtype=dtype)
        else:
            out[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(shape)
    if cursor != len(data):
        raise ValueError(f"{path}: {len(data) - cursor} trailing bytes after the last tensor")
    return out


def save_file(tensors, path):
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


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
