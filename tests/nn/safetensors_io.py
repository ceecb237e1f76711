"""safetensors_io.py: the safetensors format for the Python helpers of tests/nn
(torch_interop.py, optim_pytorch_reference.py, make_golden.py), which run
under /usr/bin/python3 where torch is installed but the `safetensors` package
is not. Import it from a script in this folder: `import safetensors_io`.

Format: 8-byte little-endian header length, a JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__":
{str: str}}, then the raw little-endian data. `load` applies the checks of the
reference implementation (every byte range inside the data section, sized
numel * element size, no overlaps, no gaps, nothing trailing) and returns what
safetensors.torch.load_file returns, plus the metadata; `save` writes the
tensors in the order given (the golden files keep that order) with the
metadata last, the header padded with spaces to a multiple of 8 bytes.
"""
import json
import struct

import torch

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


def load(path):
    """({name: tensor} in file order, {metadata key: value})."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header of {n} bytes runs past the end")
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    metadata = header.pop("__metadata__", None) or {}
    cursor = 0
    tensors = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
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
            tensors[name] = torch.empty(shape, dtype=dtype)
        else:
            tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(shape)
    if cursor != len(data):
        raise ValueError(f"{path}: {len(data) - cursor} trailing bytes after the last tensor")
    return {name: tensors[name] for name in header}, metadata


def save(path, tensors, metadata=None):
    """Writes {name: tensor} in its order; metadata values must be strings."""
    header = {}
    chunks = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    if metadata:
        assert all(isinstance(v, str) for v in metadata.values()), "safetensors metadata values are strings"
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)
