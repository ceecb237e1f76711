#!/usr/bin/python3
"""prepare_textures.py: real textures from Debian's packages, cut into the
defect-free part of an MVTec AD style dataset for the detection experiment
(bench/experiment/run.sh), and a pool of held-out crops that `loom synth`
turns into the test defects.

Sources (installed by run.sh; nothing of theirs is committed):
  gimp-data      /usr/share/gimp/2.0/patterns/<group>/<name>.pat  (GIMP pattern
                 files: small seamless tiles, 50-128 px)
  python3-skimage  skimage/data/{brick,gravel,grass}.png  (512 x 512 gray photos)

For each texture T, with crops of side S (--size):
  OUT/T/train/good/NNN.png   --n-train crops       (train region)
  OUT/T/test/good/NNN.png    --n-test crops        (test region)
  POOL/T/NNN.png             --n-pool crops        (test region; run.sh gives
                                                    them defects with loom synth)
The photos (skimage) are split into a top half (train) and a bottom half
(test), so test crops show texture the detectors never saw. The GIMP patterns
are tiles: they are repeated to a 4x4 canvas and cropped at random offsets, so
train and test crops come from the same periodic texture (as on a loom: the
same weave everywhere), only at other phases.

Gray sources are written as RGB (three equal channels). Crop positions come
from numpy's PCG64 seeded with --seed and the texture's index, so the dataset
depends only on the seed.

GIMP pattern format (gimp-data's devel-docs/pat.txt): big-endian uint32
header_size, version (1), width, height, bytes per pixel (1 gray, 2 gray+alpha,
3 RGB, 4 RGBA), magic "GPAT", then the UTF-8 name up to header_size, then
width * height * bytes pixels, row-major.
"""
import argparse
import os
import struct
import sys

import numpy as np
import skimage.io

GIMP_PATTERNS = "/usr/share/gimp/2.0/patterns"
SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"

# name -> (kind, path below its package's folder)
TEXTURES = {
    "burlap": ("pat", "Fabric/burlap.pat"),
    "fibers": ("pat", "Legacy/fibers.pat"),
    "leather": ("pat", "Animal/leather.pat"),
    "crinklepaper": ("pat", "Paper/crinklepaper.pat"),
    "brick": ("png", "brick.png"),
    "gravel": ("png", "gravel.png"),
    "grass": ("png", "grass.png"),
}


def read_gimp_pattern(path):
    """The pattern as uint8 (H, W, 3)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24 or data[20:24] != b"GPAT":
        raise SystemExit(f"prepare_textures: {path} is not a GIMP pattern (no GPAT magic)")
    header_size, version, width, height, depth = struct.unpack(">5I", data[:20])
    need = header_size + width * height * depth
    if version != 1 or depth not in (1, 2, 3, 4) or len(data) < need:
        raise SystemExit(f"prepare_textures: {path}: unsupported or truncated pattern "
                         f"(version {version}, {depth} bytes/pixel, {len(data)} of {need} bytes)")
    pixels = np.frombuffer(data, np.uint8, width * height * depth, header_size).reshape(height, width, depth)
    if depth <= 2:  # gray (+ alpha): drop alpha, repeat the gray
        return np.repeat(pixels[:, :, :1], 3, axis=2)
    return pixels[:, :, :3].copy()


def read_photo(path):
    image = skimage.io.imread(path)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image[:, :, :3].astype(np.uint8)


def crops(canvas, count, size, rng):
    """count random size x size crops of canvas (H, W, 3)."""
    h, w = canvas.shape[:2]
    if h < size or w < size:
        raise SystemExit(f"prepare_textures: a {h}x{w} region is smaller than the crop size {size}")
    out = []
    for _ in range(count):
        y = int(rng.integers(0, h - size + 1))
        x = int(rng.integers(0, w - size + 1))
        out.append(canvas[y:y + size, x:x + size])
    return out


def write_all(folder, images):
    os.makedirs(folder, exist_ok=True)
    digits = max(3, len(str(max(len(images) - 1, 0))))
    for k, image in enumerate(images):
        skimage.io.imsave(os.path.join(folder, f"{k:0{digits}d}.png"), image, check_contrast=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="dataset root (MVTec AD layout), created")
    parser.add_argument("--pool", required=True, help="folder of held-out crops for loom synth, created")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n-train", type=int, default=64)
    parser.add_argument("--n-test", type=int, default=8)
    parser.add_argument("--n-pool", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--textures", default=",".join(TEXTURES), help="comma-separated names")
    args = parser.parse_args()

    for index, name in enumerate(args.textures.split(",")):
        if name not in TEXTURES:
            raise SystemExit(f"prepare_textures: unknown texture {name!r}; known: {', '.join(TEXTURES)}")
        kind, rel = TEXTURES[name]
        path = os.path.join(GIMP_PATTERNS if kind == "pat" else SKIMAGE_DATA, rel)
        if not os.path.exists(path):
            package = "gimp-data" if kind == "pat" else "python3-skimage"
            raise SystemExit(f"prepare_textures: {path} is missing (install Debian's {package})")
        rng = np.random.default_rng([args.seed, index])
        if kind == "pat":
            tile = read_gimp_pattern(path)
            canvas = np.tile(tile, (4, 4, 1))
            train_region = test_region = canvas
        else:
            photo = read_photo(path)
            half = photo.shape[0] // 2
            train_region, test_region = photo[:half], photo[half:]
        write_all(os.path.join(args.out, name, "train", "good"), crops(train_region, args.n_train, args.size, rng))
        write_all(os.path.join(args.out, name, "test", "good"), crops(test_region, args.n_test, args.size, rng))
        write_all(os.path.join(args.pool, name), crops(test_region, args.n_pool, args.size, rng))
        print(f"prepare_textures: {name}: {args.n_train} train, {args.n_test} test good, {args.n_pool} pool "
              f"crops of {args.size} px from {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
