#!/usr/bin/python3
"""summarize.py: the markdown tables of docs/results.md from an experiment's
output folder (bench/experiment/run.sh): one table per target, one row per
detector, the mean over categories of `loom eval`'s "all" rows (its eval.json
"mean"), plus the training and evaluation seconds run.sh recorded, and a
per-category table of pixel AUROC, and a per-defect-type table of pixel F1 at
the chosen threshold (the paper's table reports F-measure per defect type).

Usage: summarize.py OUT   (prints markdown)
"""
import json
import math
import os
import sys

DETECTORS = [
    ("unet-cutpaste", "(a) U-Net, CutPaste + scar"),
    ("unet-draem", "(b) U-Net, DRAEM Perlin"),
    ("unet-bezier", "(c) U-Net, Bezier + elastic"),
    ("unet-gan", "(d) U-Net, multistage GAN"),
    ("wae", "(e) WAE-MMD residual"),
]
TARGETS = [("fabric", "procedural fabric, held-out weaves and colours"),
           ("textures", "real textures (gimp-data, skimage) with synthetic stains and blends")]


def fmt(value):
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def eval_json(out, target, detector):
    for rel in ("eval/eval.json", "stage3_eval/eval.json"):
        path = os.path.join(out, target, detector, rel)
        if os.path.exists(path):
            with open(path) as f:
                return json.load(f)
    return None


def seconds(out, *names):
    total, found = 0, False
    for name in names:
        path = os.path.join(out, name + ".done")
        if os.path.exists(path):
            with open(path) as f:
                total += int(f.read().strip() or 0)
            found = True
    return str(total) if found else "n/a"


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    for target, description in TARGETS:
        print(f"### Target: {description}\n")
        print("| detector | images | image AUROC | pixel AUROC | AUPRO@0.3 | F1 max | F1@t | IoU@t | t | seconds |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        per_category, per_defect = {}, {}
        for detector, label in DETECTORS:
            report = eval_json(out, target, detector)
            if report is None:
                print(f"| {label} | not run | | | | | | | | |")
                continue
            m = report["mean"]
            if detector == "unet-gan":
                secs = seconds(out, f"{target}_pipeline", f"{target}_{detector}_eval")
            else:
                secs = seconds(out, f"{target}_{detector}", f"{target}_{detector}_eval")
            print(f"| {label} | {m['images']} | {fmt(m['image_auroc'])} | {fmt(m['pixel_auroc'])} | {fmt(m['aupro'])} | "
                  f"{fmt(m['best']['f1'])} | {fmt(m['at_threshold']['f1'])} | {fmt(m['at_threshold']['iou'])} | "
                  f"{report['threshold']['value']:.3g} | {secs} |")
            for row in report["rows"]:
                if row["defect"] == "all":
                    per_category.setdefault(row["category"], {})[detector] = row["pixel_auroc"]
                else:
                    per_defect.setdefault(row["defect"], {}).setdefault(detector, []).append(
                        row["at_threshold"]["f1"])
        print()
        if per_category:
            names = [d for d, _ in DETECTORS]
            print("Pixel AUROC per category:\n")
            print("| category | " + " | ".join(f"({chr(97 + i)})" for i in range(len(names))) + " |")
            print("|---|" + "---:|" * len(names))
            for category in sorted(per_category):
                row = per_category[category]
                print(f"| {category} | " + " | ".join(fmt(row.get(d)) for d in names) + " |")
            print()
        if per_defect:
            names = [d for d, _ in DETECTORS]
            mean = lambda xs: sum(xs) / len(xs) if xs else None
            print("Pixel F1@t per defect type (mean over categories; each row: that type's images and the good ones):\n")
            print("| defect | " + " | ".join(f"({chr(97 + i)})" for i in range(len(names))) + " |")
            print("|---|" + "---:|" * len(names))
            for defect in sorted(per_defect):
                row = per_defect[defect]
                print(f"| {defect} | " + " | ".join(fmt(mean(row.get(d, []))) for d in names) + " |")
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
